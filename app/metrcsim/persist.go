package metrcsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Save writes the world (not the faults) to path as JSON, atomically (a
// temporary file renamed over it) and readable by the owner only.
func (s *Sim) Save(path string) error {
	s.mu.Lock()
	b, err := json.Marshal(s.w)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("metrcsim: save: %w", err)
	}
	return nil
}

// Load returns a simulator with the world saved at path and the keys, object
// limit, random seed and clock of o (o.Seed is ignored). A missing file gives
// an error wrapping fs.ErrNotExist, so a caller can fall back to New.
func Load(path string, o Options) (*Sim, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrcsim: load: %w", err)
	}
	w := newWorld()
	if err := json.Unmarshal(b, w); err != nil {
		return nil, fmt.Errorf("metrcsim: load %s: %w", filepath.Base(path), err)
	}
	if w.Licenses == nil {
		w.Licenses = map[string]*license{}
	}
	w.reindex()
	s := newSim(o)
	s.w = w
	return s, nil
}
