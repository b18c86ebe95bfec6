// Command genicons draws tracesync's icons and writes them as PNG files:
// the app icon (icon.png, 512x512) and the four tray icons
// (tray-green.png, tray-orange.png, tray-red.png, tray-grey.png, 64x64).
//
// The PNGs are committed in assets/; run `go run ./scripts/genicons` from the
// repository root to regenerate them after changing this program. The output
// is deterministic, so a test can check the committed files are current.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// AppIconSize and TraySize are the edge lengths, in pixels, of the icons.
const (
	AppIconSize = 512
	TraySize    = 64
)

// Tray colours follow Fyne's default theme (success, warning, error) and a
// neutral grey for "paused / connecting", so the tray matches the window.
var trayColors = map[string]color.NRGBA{
	"green":  {0x43, 0xa0, 0x47, 0xff},
	"orange": {0xff, 0x98, 0x00, 0xff},
	"red":    {0xf4, 0x43, 0x36, 0xff},
	"grey":   {0x9e, 0x9e, 0x9e, 0xff},
}

// TrayNames lists the tray icon colours in a fixed order.
var TrayNames = []string{"green", "orange", "red", "grey"}

func main() {
	out := flag.String("out", "assets", "directory the PNG files are written to")
	flag.Parse()
	files, err := Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genicons:", err)
		os.Exit(1)
	}
	for name, data := range files {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genicons:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}

// Render draws every icon and returns the encoded PNGs by file name.
func Render() (map[string][]byte, error) {
	files := map[string][]byte{}
	enc := func(name string, img image.Image) error {
		var buf bytes.Buffer
		e := png.Encoder{CompressionLevel: png.BestCompression}
		if err := e.Encode(&buf, img); err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		files[name] = buf.Bytes()
		return nil
	}
	if err := enc("icon.png", AppIcon(AppIconSize)); err != nil {
		return nil, err
	}
	for _, n := range TrayNames {
		if err := enc("tray-"+n+".png", TrayIcon(TraySize, trayColors[n])); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// sdf is a signed distance function in pixel units: negative inside.
type sdf func(x, y float64) float64

// paint composites colour c over img wherever shape d covers a pixel, with
// 4x4 supersampling for smooth edges. fill may vary the colour by position.
func paint(img *image.NRGBA, d sdf, fill func(x, y float64) color.NRGBA) {
	const ss = 4
	b := img.Bounds()
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			// Distances are in pixels, so a pixel whose centre is more than
			// one pixel from the edge is wholly outside or inside.
			cover := 0
			switch dc := d(float64(px)+0.5, float64(py)+0.5); {
			case dc > 1:
				continue
			case dc < -1:
				cover = ss * ss
			}
			for sy := 0; sy < ss && cover < ss*ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := float64(px) + (float64(sx)+0.5)/ss
					y := float64(py) + (float64(sy)+0.5)/ss
					if d(x, y) <= 0 {
						cover++
					}
				}
			}
			if cover == 0 {
				continue
			}
			c := fill(float64(px)+0.5, float64(py)+0.5)
			a := float64(c.A) / 255 * float64(cover) / (ss * ss)
			img.SetNRGBA(px, py, over(img.NRGBAAt(px, py), c, a))
		}
	}
}

// over blends src with alpha a over dst (non-premultiplied).
func over(dst, src color.NRGBA, a float64) color.NRGBA {
	da := float64(dst.A) / 255
	oa := a + da*(1-a)
	if oa == 0 {
		return color.NRGBA{}
	}
	mix := func(s, d uint8) uint8 {
		v := (float64(s)*a + float64(d)*da*(1-a)) / oa
		return uint8(math.Round(v))
	}
	return color.NRGBA{mix(src.R, dst.R), mix(src.G, dst.G), mix(src.B, dst.B), uint8(math.Round(oa * 255))}
}

func solid(c color.NRGBA) func(x, y float64) color.NRGBA {
	return func(float64, float64) color.NRGBA { return c }
}

func shade(c color.NRGBA, f float64) color.NRGBA {
	s := func(v uint8) uint8 { return uint8(math.Round(math.Min(255, float64(v)*f))) }
	return color.NRGBA{s(c.R), s(c.G), s(c.B), c.A}
}

func circle(cx, cy, r float64) sdf {
	return func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }
}

func roundedRect(x0, y0, x1, y1, r float64) sdf {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	return func(x, y float64) float64 {
		dx := math.Abs(x-cx) - hx
		dy := math.Abs(y-cy) - hy
		out := math.Hypot(math.Max(dx, 0), math.Max(dy, 0))
		return out + math.Min(math.Max(dx, dy), 0) - r
	}
}

// capsule is a segment from (ax,ay) to (bx,by) with round caps, w wide.
func capsule(ax, ay, bx, by, w float64) sdf {
	return func(x, y float64) float64 {
		px, py := x-ax, y-ay
		vx, vy := bx-ax, by-ay
		t := math.Max(0, math.Min(1, (px*vx+py*vy)/(vx*vx+vy*vy)))
		return math.Hypot(px-vx*t, py-vy*t) - w/2
	}
}

// arc is a ring of radius r and width w around (cx,cy) from angle a0 to a1
// (radians, clockwise on screen since y grows downwards), with round caps.
func arc(cx, cy, r, w, a0, a1 float64) sdf {
	return func(x, y float64) float64 {
		a := math.Atan2(y-cy, x-cx)
		for a < a0 {
			a += 2 * math.Pi
		}
		if a <= a1 {
			return math.Abs(math.Hypot(x-cx, y-cy)-r) - w/2
		}
		e0 := math.Hypot(x-(cx+r*math.Cos(a0)), y-(cy+r*math.Sin(a0)))
		e1 := math.Hypot(x-(cx+r*math.Cos(a1)), y-(cy+r*math.Sin(a1)))
		return math.Min(e0, e1) - w/2
	}
}

// triangle is the filled triangle a, b, c (any winding).
func triangle(ax, ay, bx, by, cx, cy float64) sdf {
	edge := func(x, y, x0, y0, x1, y1 float64) float64 {
		return (x1-x0)*(y-y0) - (y1-y0)*(x-x0)
	}
	s0, s1, s2 := capsule(ax, ay, bx, by, 0), capsule(bx, by, cx, cy, 0), capsule(cx, cy, ax, ay, 0)
	return func(x, y float64) float64 {
		e0 := edge(x, y, ax, ay, bx, by)
		e1 := edge(x, y, bx, by, cx, cy)
		e2 := edge(x, y, cx, cy, ax, ay)
		d := math.Min(s0(x, y), math.Min(s1(x, y), s2(x, y)))
		if (e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0) {
			return -d
		}
		return d
	}
}

func union(ds ...sdf) sdf {
	return func(x, y float64) float64 {
		m := math.Inf(1)
		for _, d := range ds {
			m = math.Min(m, d(x, y))
		}
		return m
	}
}

// AppIcon draws the app mark: a green rounded square holding a white
// circular "sync" arrow around a check mark (records kept in step).
func AppIcon(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size) / 512 // design grid is 512x512
	top := color.NRGBA{0x4c, 0xaf, 0x50, 0xff}
	bottom := color.NRGBA{0x1b, 0x5e, 0x20, 0xff}
	grad := func(_, y float64) color.NRGBA {
		t := y / float64(size)
		l := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
		return color.NRGBA{l(top.R, bottom.R), l(top.G, bottom.G), l(top.B, bottom.B), 0xff}
	}
	paint(img, roundedRect(16*s, 16*s, 496*s, 496*s, 96*s), grad)

	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	cx, cy, r, w := 256*s, 256*s, 150*s, 38*s
	// The arc runs clockwise from just right of the top to just left of it,
	// leaving a gap at the top where the arrow head sits.
	a0, a1 := -math.Pi/2+0.45, -math.Pi/2+2*math.Pi-0.62
	// Arrow head at the arc's end, pointing along the clockwise tangent.
	ex, ey := cx+r*math.Cos(a1), cy+r*math.Sin(a1)
	tx, ty := -math.Sin(a1), math.Cos(a1) // clockwise tangent
	nx, ny := math.Cos(a1), math.Sin(a1)  // outward normal
	hl, hw := 70*s, 62*s
	head := triangle(
		ex+tx*hl, ey+ty*hl,
		ex+nx*hw, ey+ny*hw,
		ex-nx*hw, ey-ny*hw,
	)
	check := union(
		capsule(186*s, 262*s, 236*s, 312*s, 40*s),
		capsule(236*s, 312*s, 330*s, 206*s, 40*s),
	)
	paint(img, union(arc(cx, cy, r, w, a0, a1), head, check), solid(white))
	return img
}

// TrayIcon draws a filled circle of colour c with a subtle darker ring,
// on a transparent size x size canvas.
func TrayIcon(size int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	f := float64(size)
	cx, cy, r := f/2, f/2, f/2-2*f/64
	paint(img, circle(cx, cy, r), solid(shade(c, 0.72)))
	paint(img, circle(cx, cy, r-3*f/64), func(_, y float64) color.NRGBA {
		// A faint top-to-bottom highlight keeps the dot from looking flat.
		t := (y - (cy - r)) / (2 * r)
		return shade(c, 1.08-0.12*t)
	})
	return img
}
