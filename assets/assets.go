// Package assets embeds tracesync's icons: the app icon and the tray icons
// in the four health colours. The PNGs are drawn by scripts/genicons
// (`go run ./scripts/genicons` regenerates them) and committed here.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

// Raw PNG bytes of each icon, for callers that need the file itself
// (packaging, notifications, the systray library).
var (
	//go:embed icon.png
	IconPNG []byte
	//go:embed tray-green.png
	TrayGreenPNG []byte
	//go:embed tray-orange.png
	TrayOrangePNG []byte
	//go:embed tray-red.png
	TrayRedPNG []byte
	//go:embed tray-grey.png
	TrayGreyPNG []byte
)

// Fyne resources for the same icons. Icon is the app icon (512x512); the
// Tray* icons are 64x64 dots in the theme's success, warning and error
// colours and a neutral grey (paused or connecting).
var (
	Icon       fyne.Resource = fyne.NewStaticResource("icon.png", IconPNG)
	TrayGreen  fyne.Resource = fyne.NewStaticResource("tray-green.png", TrayGreenPNG)
	TrayOrange fyne.Resource = fyne.NewStaticResource("tray-orange.png", TrayOrangePNG)
	TrayRed    fyne.Resource = fyne.NewStaticResource("tray-red.png", TrayRedPNG)
	TrayGrey   fyne.Resource = fyne.NewStaticResource("tray-grey.png", TrayGreyPNG)
)

// Tray returns the tray icon for a health colour name as used by
// `tracesync status --json` ("green", "orange", "red", "grey"); any other
// name gets the grey icon.
func Tray(color string) fyne.Resource {
	switch color {
	case "green":
		return TrayGreen
	case "orange":
		return TrayOrange
	case "red":
		return TrayRed
	default:
		return TrayGrey
	}
}
