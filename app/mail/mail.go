// Package mail sends tracesync's report mails over SMTP with
// github.com/wneessen/go-mail. The SMTP password never lives in settings:
// it comes from a function (the OS keyring in the app, KeyringPassword).
package mail

import (
	"tracesync/app"

	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/zalando/go-keyring"
)

// Config is the SMTP setting (non-secret parts only).
type Config struct {
	Host     string
	Port     int  // 0: 587 with STARTTLS, else 25
	StartTLS bool // require STARTTLS (off: plain SMTP, for a local relay)
	User     string
	From     string
	To       []string // the admin addresses
	// Password returns the SMTP password (nil or "" with no User: no auth).
	Password func() (string, error)
	Timeout  time.Duration // per send, default 60s
}

// Message is one mail: a text body, an optional HTML alternative and
// attachments.
type Message struct {
	To          []string // nil: Config.To
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
}

// Attachment is a named file carried by a Message.
type Attachment struct {
	Name string
	Data []byte
}

// ErrNotConfigured: no host, sender or recipient is set.
var ErrNotConfigured = errors.New("SMTP is not set up (host, sender and at least one address are needed)")

// Sender sends Messages with one Config.
type Sender struct {
	cfg Config
}

// New checks the Config and returns a Sender.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" || cfg.From == "" || len(cfg.To) == 0 {
		return nil, ErrNotConfigured
	}
	if cfg.Port == 0 {
		cfg.Port = 25
		if cfg.StartTLS {
			cfg.Port = 587
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	return &Sender{cfg: cfg}, nil
}

// Send builds the message and delivers it in one SMTP session. The error
// never contains the password.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithTLSPolicy(gomail.NoTLS)}
	if s.cfg.StartTLS {
		opts[2] = gomail.WithTLSPolicy(gomail.TLSMandatory)
	}
	if s.cfg.User != "" {
		pass := ""
		if s.cfg.Password != nil {
			if pass, err = s.cfg.Password(); err != nil {
				return fmt.Errorf("smtp password for %s: %w", s.cfg.User, err)
			}
		}
		// With STARTTLS the best mechanism the server offers; without it,
		// PLAIN, which go-mail only sends to a server on this machine, so a
		// password never crosses a network in clear text.
		auth := gomail.SMTPAuthAutoDiscover
		if !s.cfg.StartTLS {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.cfg.User), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

func (s *Sender) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("mail sender %q: %w", s.cfg.From, err)
	}
	to := m.To
	if len(to) == 0 {
		to = s.cfg.To
	}
	if err := msg.To(to...); err != nil {
		return nil, fmt.Errorf("mail recipients: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data))
	}
	return msg, nil
}

// KeyringPassword reads the SMTP password from the OS keyring (entry
// app.KeyringSMTPPassword of app.KeyringService, where Settings saves it).
// On Linux this needs a Secret Service over D-Bus; without one the error says so.
func KeyringPassword() func() (string, error) {
	return func() (string, error) {
		p, err := keyring.Get(app.KeyringService, app.KeyringSMTPPassword)
		if err != nil {
			return "", fmt.Errorf("read the SMTP password from the OS keyring: %w", err)
		}
		return p, nil
	}
}

// SetKeyringPassword stores the SMTP password in the OS keyring.
func SetKeyringPassword(password string) error {
	if err := keyring.Set(app.KeyringService, app.KeyringSMTPPassword, password); err != nil {
		return fmt.Errorf("store the SMTP password in the OS keyring: %w", err)
	}
	return nil
}
