package browsertest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
)

// Ink measures how much a PNG shows: the share of its pixels that are not
// near-white and the number of distinct colours. A page that rendered
// nothing, or only its background, has almost none of either.
func Ink(pngData []byte) (share float64, colours int, err error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, 0, fmt.Errorf("decoding the screenshot: %w", err)
	}
	return ink(img), distinct(img), nil
}

func ink(img image.Image) float64 {
	b := img.Bounds()
	if b.Empty() {
		return 0
	}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			// Near-white: every channel above 240 of 255.
			if r < 240<<8 || g < 240<<8 || bl < 240<<8 {
				inked++
			}
		}
	}
	return float64(inked) / float64(b.Dx()*b.Dy())
}

func distinct(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}
