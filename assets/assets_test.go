package assets

import (
	"bytes"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
)

func TestIconsDecode(t *testing.T) {
	tests := []struct {
		name string
		res  fyne.Resource
		size int
	}{
		{"icon.png", Icon, 512},
		{"tray-green.png", TrayGreen, 64},
		{"tray-orange.png", TrayOrange, 64},
		{"tray-red.png", TrayRed, 64},
		{"tray-grey.png", TrayGrey, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.res.Name() != tt.name {
				t.Errorf("Name() = %q, want %q", tt.res.Name(), tt.name)
			}
			img, err := png.Decode(bytes.NewReader(tt.res.Content()))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			b := img.Bounds()
			if b.Dx() != tt.size || b.Dy() != tt.size {
				t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.size, tt.size)
			}
			// The corners are transparent (tray dot) or the rounded square's
			// cut-off (app icon); the centre is opaque.
			if _, _, _, a := img.At(b.Dx()/2, b.Dy()/2).RGBA(); a != 0xffff {
				t.Errorf("centre alpha %#x, want opaque", a)
			}
			if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
				t.Errorf("corner alpha %#x, want transparent", a)
			}
		})
	}
}

func TestTray(t *testing.T) {
	for color, want := range map[string]fyne.Resource{
		"green": TrayGreen, "orange": TrayOrange, "red": TrayRed, "grey": TrayGrey, "": TrayGrey, "blue": TrayGrey,
	} {
		if got := Tray(color); got != want {
			t.Errorf("Tray(%q) = %s, want %s", color, got.Name(), want.Name())
		}
	}
}
