// Package mailtest is a tiny SMTP server on 127.0.0.1 for tests: just enough
// of EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT (no TLS) to
// receive what app/mail sends.
package mailtest

import (
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
)

// Message is one mail the server received.
type Message struct {
	From string
	To   []string
	Data string // headers and body, dot-unstuffed
	User string // the AUTH PLAIN user, "" without AUTH
	Pass string
}

// Server is a running test SMTP server.
type Server struct {
	Addr string // host:port
	ln   net.Listener

	mu       sync.Mutex
	msgs     []Message
	failNext int // answer the next DATA with 451 this many times
	got      chan struct{}
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, got: make(chan struct{}, 100)}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the server and waits for its sessions.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// FailNext makes the next n DATA commands fail with a temporary error.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Messages returns the mails received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Received is signalled once per received mail.
func (s *Server) Received() <-chan struct{} { return s.got }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
		}()
	}
}

func (s *Server) session(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 127.0.0.1 mailtest ready")
	var m Message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			tp.PrintfLine("250-127.0.0.1 hello")
			tp.PrintfLine("250-8BITMIME")
			tp.PrintfLine("250 AUTH PLAIN")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				tp.PrintfLine("504 unsupported")
				continue
			}
			if resp == "" {
				tp.PrintfLine("334 ")
				if resp, err = tp.ReadLine(); err != nil {
					return
				}
			}
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 {
				tp.PrintfLine("501 bad auth")
				continue
			}
			m.User, m.Pass = parts[1], parts[2]
			tp.PrintfLine("235 ok")
		case "MAIL":
			m.From, m.To = addr(arg), nil
			tp.PrintfLine("250 ok")
		case "RCPT":
			m.To = append(m.To, addr(arg))
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			fail := s.failNext > 0
			if fail {
				s.failNext--
			} else {
				m.Data = string(data)
				s.msgs = append(s.msgs, m)
			}
			s.mu.Unlock()
			if fail {
				tp.PrintfLine("451 try again later")
				continue
			}
			tp.PrintfLine("250 queued")
			s.got <- struct{}{}
		case "RSET":
			m = Message{User: m.User, Pass: m.Pass}
			tp.PrintfLine("250 ok")
		case "NOOP":
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

// addr extracts the address of "FROM:<a@b> SIZE=..." or "TO:<a@b>".
func addr(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j >= 0 {
			return arg[i+1 : i+j]
		}
	}
	return arg
}
