// Package store is tracesync's bbolt persistence: the durable job queue and
// every other record the app keeps. It implements the ports declared in app/
// (app.JobStore, app.LicenseStore, app.PackageStore).
//
// One logical operation is one bbolt transaction, fsynced before the method
// returns. Secondary indexes live in their own buckets (buckets.go) and change
// in the same transaction as the records they index, so that a crash at any
// moment leaves records and indexes in agreement.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// SchemaVersion is the layout this code reads and writes.
const SchemaVersion = 1

var metaSchemaKey = []byte("schema")

// migrations[v] upgrades a file from schema v to v+1 inside Open's
// transaction. Empty while there is only schema 1.
var migrations = map[int]func(tx *bbolt.Tx) error{}

// Store is the bbolt file. It is safe for concurrent use.
type Store struct {
	db        *bbolt.DB
	log       *slog.Logger
	onCorrupt func(CorruptError)
	corrupt   atomic.Int64
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	onCorrupt func(CorruptError)
	timeout   time.Duration
	noSync    bool
}

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithCorruptHandler is called for every record that fails to decode and is
// skipped (besides the log line). It runs inside the store's transaction,
// possibly on several goroutines at once: it must return quickly, be safe
// for concurrent use and not call the Store.
func WithCorruptHandler(fn func(CorruptError)) Option {
	return func(o *options) { o.onCorrupt = fn }
}

// WithLockTimeout sets how long Open waits for another process's lock
// before returning app.ErrLocked (default 0.8s, so the refusal comes within a second).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithNoSync skips fsync: for building benchmark fixtures only, never for
// real data (a crash could lose committed jobs).
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// Open opens (creating it with mode 0600) the store at path, creates every
// bucket and brings the schema up to SchemaVersion. When another process
// holds the file it returns an error wrapping app.ErrLocked after about a
// second.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{timeout: 800 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	db, err := bbolt.Open(path, 0o600, boltOptions(o.timeout, o.noSync))
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, app.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, log: o.logger.With("component", "store"), onCorrupt: o.onCorrupt}
	if err := db.Update(s.prepare); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// boltOptions are the bbolt settings of a store file.
//
// InitialMmapSize reserves 1 GiB of address space up front (not memory, not
// disk): bbolt remaps when the file outgrows the map, and before remapping
// it copies every node the write transaction touched out of the old map
// and waits for readers to finish. Windows is left alone because there bbolt
// grows the file itself to the map size.
func boltOptions(timeout time.Duration, noSync bool) *bbolt.Options {
	o := &bbolt.Options{Timeout: timeout, NoSync: noSync}
	if runtime.GOOS != "windows" && strconv.IntSize == 64 {
		o.InitialMmapSize = 1 << 30
	}
	return o
}

// prepare creates the buckets and runs the migrations.
func (s *Store) prepare(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := SchemaVersion // a new file starts at the current layout
	if raw := meta.Get(metaSchemaKey); raw != nil {
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("schema version %q: %w", raw, app.ErrCorrupt)
		}
		v = n
	}
	if v > SchemaVersion {
		return fmt.Errorf("the data was written by a newer tracesync (schema %d, this one reads %d)", v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		if m := migrations[v]; m != nil {
			if err := m(tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			s.log.Info("store migrated", "from", v, "to", v+1)
		}
	}
	return meta.Put(metaSchemaKey, []byte(strconv.Itoa(SchemaVersion)))
}

// Close closes the file, releasing the lock.
func (s *Store) Close() error { return s.db.Close() }

// DB returns the bbolt handle for sibling files of package store.
func (s *Store) DB() *bbolt.DB { return s.db }

// CorruptCount is how many undecodable records were skipped since Open.
func (s *Store) CorruptCount() int64 { return s.corrupt.Load() }

// reportCorrupt logs a skipped record (with its key) and tells the handler.
func (s *Store) reportCorrupt(err error) {
	var ce *CorruptError
	if !errors.As(err, &ce) {
		ce = &CorruptError{Err: err}
	}
	s.corrupt.Add(1)
	s.log.Error("skipped a record that could not be decoded", "bucket", ce.Bucket, "key", keyString(ce.Key), "err", ce.Err)
	if s.onCorrupt != nil {
		s.onCorrupt(*ce)
	}
}
