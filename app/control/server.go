package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"tracesync/app/importcsv"
)

// Server serves a Backend on the data folder's control endpoint. Only the
// process that holds the data folder's lock may start one.
type Server struct {
	dir   string
	ln    net.Listener
	token string
	srv   *http.Server
	log   *slog.Logger
	done  chan struct{}
}

// Listen opens the control endpoint of dir, replacing a stale one left by a
// crashed owner (the caller holds the folder's lock, so any endpoint already
// there is stale).
func Listen(dir string, b *Backend, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, token, err := listen(dir)
	if err != nil {
		return nil, fmt.Errorf("control endpoint: %w", err)
	}
	s := &Server{dir: dir, ln: ln, token: token, log: log, done: make(chan struct{})}
	s.srv = &http.Server{Handler: s.handler(b), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control server stopped", "err", err)
		}
	}()
	return s, nil
}

// Close stops serving (letting answers in progress finish for a few seconds)
// and removes the endpoint.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	removeEndpoint(s.dir)
	return err
}

func (s *Server) handler(b *Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := b.Status()
		s.answer(w, st, err)
	})
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) {
		q := JobsQuery{State: r.URL.Query().Get("state"), License: r.URL.Query().Get("license")}
		js, err := b.ListJobs(q)
		s.answer(w, js, err)
	})
	mux.HandleFunc("POST /push", func(w http.ResponseWriter, r *http.Request) {
		var req PushRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			s.answer(w, nil, BadInput("push: %v", err))
			return
		}
		res, err := b.Push(req)
		s.answer(w, res, err)
	})
	mux.HandleFunc("POST /import", func(w http.ResponseWriter, r *http.Request) {
		kind, err := importcsv.ParseKind(r.URL.Query().Get("kind"))
		if err != nil {
			s.answer(w, nil, BadInput("%v", err))
			return
		}
		res, err := b.Import(kind, r.Body)
		s.answer(w, res, err)
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		// Rendered in memory first so an error can still become a status.
		var buf strings.Builder
		err := b.WriteReport(&buf, r.URL.Query().Get("date"), r.URL.Query().Get("format"))
		if err != nil {
			s.answer(w, nil, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, buf.String())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		e := &Error{Code: ExitCode(err), Msg: err.Error()}
		status := http.StatusInternalServerError
		if e.Code == CodeBadInput {
			status = http.StatusBadRequest
		} else {
			s.log.Warn("control request failed", "err", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(e)
		return
	}
	writeJSON(w, v)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
