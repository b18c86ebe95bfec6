package mail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"tracesync/app/mail/mailtest"
)

func TestSendArrives(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	keyring.MockInit()
	if err := SetKeyringPassword("s3cret"); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Host: "127.0.0.1", Port: srv.Port(), User: "ops", Password: KeyringPassword(),
		From: "tracesync@shop.example", To: []string{"admin@shop.example", "owner@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{Subject: "tracesync report 2026-02-10", Text: "3 repairs",
		HTML: "<p>3 repairs</p>", Attachments: []Attachment{{Name: "report.csv", Data: []byte("Date,License\n2026-02-10,L1\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "tracesync@shop.example" || strings.Join(m.To, ",") != "admin@shop.example,owner@shop.example" {
		t.Fatalf("envelope %q %q", m.From, m.To)
	}
	if m.User != "ops" || m.Pass != "s3cret" {
		t.Fatalf("auth %q", m.User)
	}
	for _, want := range []string{"Subject: tracesync report 2026-02-10", "3 repairs", "text/html", `filename="report.csv"`} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
}

func TestSendFailureIsAnError(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.FailNext(1)
	s, _ := New(Config{Host: "127.0.0.1", Port: srv.Port(), From: "a@b.example", To: []string{"c@d.example"}})
	if err := s.Send(context.Background(), Message{Subject: "x", Text: "y"}); err == nil {
		t.Fatal("a 451 was reported as sent")
	}
	if err := s.Send(context.Background(), Message{Subject: "x", Text: "y"}); err != nil {
		t.Fatal(err)
	}
	// A password that cannot be read stops the send, and says why.
	s, _ = New(Config{Host: "127.0.0.1", Port: srv.Port(), User: "u", From: "a@b.example", To: []string{"c@d.example"},
		Password: func() (string, error) { return "", errors.New("no keyring") }})
	if err := s.Send(context.Background(), Message{Subject: "x"}); err == nil || !strings.Contains(err.Error(), "no keyring") {
		t.Fatalf("err %v", err)
	}
	if _, err := New(Config{Host: "h"}); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("incomplete config: %v", err)
	}
}
