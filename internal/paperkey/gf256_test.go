package paperkey

import "testing"

// slowMul is the textbook product: carry-less multiplication into 16 bits,
// then reduction by 0x11b from the top bit down.
func slowMul(a, b byte) byte {
	var p uint16
	for i := range 8 {
		if b>>i&1 == 1 {
			p ^= uint16(a) << i
		}
	}
	for bit := 15; bit >= 8; bit-- {
		if p>>bit&1 == 1 {
			p ^= 0x11b << (bit - 8)
		}
	}
	return byte(p)
}

// TestMulKnownAnswers: the worked examples of FIPS-197 section 4.2.
func TestMulKnownAnswers(t *testing.T) {
	for _, c := range []struct{ a, b, want byte }{
		{0x57, 0x83, 0xc1},
		{0x57, 0x13, 0xfe},
		{0x57, 0x02, 0xae},
		{0x57, 0x04, 0x47},
		{0x57, 0x08, 0x8e},
		{0x57, 0x10, 0x07},
		{0x53, 0xca, 0x01},
		{0x00, 0xff, 0x00},
		{0x01, 0xff, 0xff},
	} {
		if got := mul(c.a, c.b); got != c.want {
			t.Errorf("mul(%#02x, %#02x) = %#02x, want %#02x", c.a, c.b, got, c.want)
		}
	}
	if got := inv(0x53); got != 0xca {
		t.Errorf("inv(0x53) = %#02x, want 0xca", got)
	}
}

// TestFieldLaws: mul agrees with the textbook product everywhere, commutes,
// distributes over XOR, and inv inverts every nonzero element.
func TestFieldLaws(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			x, y := byte(a), byte(b)
			if got, want := mul(x, y), slowMul(x, y); got != want {
				t.Fatalf("mul(%#02x, %#02x) = %#02x, want %#02x", x, y, got, want)
			}
			if mul(x, y) != mul(y, x) {
				t.Fatalf("mul(%#02x, %#02x) does not commute", x, y)
			}
			z := byte(a*7 + b*13)
			if mul(x, y^z) != mul(x, y)^mul(x, z) {
				t.Fatalf("mul(%#02x, _) does not distribute over %#02x ^ %#02x", x, y, z)
			}
		}
		if x := byte(a); x != 0 && mul(x, inv(x)) != 1 {
			t.Fatalf("%#02x * inv(%#02x) = %#02x, want 1", x, x, mul(x, inv(x)))
		}
	}
	if inv(0) != 0 {
		t.Errorf("inv(0) = %#02x, want 0", inv(0))
	}
}
