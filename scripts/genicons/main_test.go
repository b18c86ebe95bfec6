package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconsAreCurrent fails when assets/*.png differ from what this
// program draws: run `go run ./scripts/genicons` and commit the result.
func TestCommittedIconsAreCurrent(t *testing.T) {
	files, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1+len(TrayNames) {
		t.Fatalf("rendered %d files, want %d", len(files), 1+len(TrayNames))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "assets", name))
		if err != nil {
			t.Fatalf("read committed %s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("assets/%s is stale: run `go run ./scripts/genicons`", name)
		}
	}
}
