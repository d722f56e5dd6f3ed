package paperkey

// paperForm is the paper key: the master secret itself.
var paperForm = form{prefix: "cairn-key1-", name: "paper key", size: 32, notThis: ErrNotPaperKey}

// Encode writes the owner's master secret as a paper key:
// "cairn-key1-" and 58 characters in groups of five.
func Encode(secret [32]byte) string { return paperForm.encode(secret[:]) }

// Decode reads a paper key as Encode wrote it, forgiving case, spaces,
// newlines and dashes; its errors wrap ErrNotPaperKey, ErrLength,
// ErrCharacter or ErrChecksum and say where to look.
func Decode(text string) ([32]byte, error) {
	var secret [32]byte
	payload, err := paperForm.decode(text)
	if err != nil {
		return secret, err
	}
	copy(secret[:], payload)
	return secret, nil
}
