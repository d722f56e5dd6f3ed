package paperkey

// Arithmetic in GF(2^8) modulo x^8+x^4+x^3+x+1 (0x11b), the field AES
// uses. Addition is XOR. mul and inv take the same steps whatever their
// inputs and look nothing up, so share arithmetic leaks no secret through
// timing or the cache.

// mul multiplies a and b: shift-and-add, reducing by 0x11b whenever a
// shift carries out of the byte.
func mul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= a & -(b & 1)
		carry := a >> 7
		a = a<<1 ^ 0x1b&-carry
		b >>= 1
	}
	return p
}

// inv returns the multiplicative inverse of a, a^254 (and 0 for 0): the
// squares a^2, a^4, ... a^128 multiplied together.
func inv(a byte) byte {
	r, sq := byte(1), a
	for range 7 {
		sq = mul(sq, sq)
		r = mul(r, sq)
	}
	return r
}
