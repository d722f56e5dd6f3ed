package chunker

// goldenCuts are the cut points of pseudoRandom(8 MiB, seed 7) under
// DefaultConfig. They are part of the storage format; never update them.
var goldenCuts = []int{
	685981, 1321957, 1893214, 2518848, 2793978, 3404867, 4189795, 4801817,
	5518712, 6095250, 6406106, 7064735, 7600358, 7803644, 8365026, 8388608,
}

// The first and last gear table words, also part of the storage format.
const goldenGear0, goldenGear255 = 0x5da414220f399d4e, 0x76db9e0ce636701

// The first and last words of NewGear(testKey(1)), part of the format of
// encrypted objects (version 2); never update them.
const goldenKeyedGear0, goldenKeyedGear255 = 0x5e7e12e10d563f58, 0x7205f0182fd6df5d
