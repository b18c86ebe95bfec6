package engine

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/control"
	"tracesync/app/metrc"
	"tracesync/app/metrcsim"
)

// TestSendFailureLastError: a send that got no HTTP answer shows in
// `jobs --json` as DESIGN.md's short words ("timeout", "connection
// refused", ...), named from the error's type, never as Go's error text
// with the request's URL. Real client, real loopback sockets.
func TestSendFailureLastError(t *testing.T) {
	cases := []struct {
		name   string
		client func(t *testing.T) app.Metrc
		want   string
	}{
		{name: "timeout", want: "timeout", client: func(t *testing.T) app.Metrc {
			r := newRig(t, rigOptions{timeout: 300 * time.Millisecond})
			r.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.OutageHang})
			return r.cl
		}},
		{name: "connection closed", want: "connection closed", client: func(t *testing.T) app.Metrc {
			r := newRig(t, rigOptions{})
			r.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.OutageDrop})
			return r.cl
		}},
		{name: "connection refused", want: "connection refused", client: func(t *testing.T) app.Metrc {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now
			cl, err := metrc.New(metrc.Options{BaseURL: "http://" + addr, VendorKey: metrcsim.DemoVendorKey,
				UserKey: metrcsim.DemoUserKey, Timeout: 5 * time.Second, WriteInterval: -1,
				HTTPClient: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}})
			if err != nil {
				t.Fatal(err)
			}
			return cl
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			e, err := New(Params{Store: st, Metrc: c.client(t), Logger: quietLogger(), Licenses: []app.License{{Number: "LIC-A"}}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := st.Enqueue(receiptJob(t, "LIC-A", "R1", srcLabel("LIC-A"), 1, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			due, err := st.Due("LIC-A", time.Now(), 10)
			if err != nil || len(due) != 1 {
				t.Fatalf("due = %+v, %v", due, err)
			}
			if !e.send(t.Context(), e.lics["LIC-A"], due) {
				t.Fatal("send did not take the job")
			}
			j, err := st.Job(res[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != app.StateUnknown && j.State != app.StateRetrying {
				t.Fatalf("job is %s after a send without an answer", j.State)
			}
			got := control.JobInfoOf(j).LastError
			if got != c.want {
				t.Errorf("lastError = %q, want %q (attempt %+v)", got, c.want, j.LastAttempt())
			}
			if strings.Contains(got, "http") || strings.Contains(got, "127.0.0.1") {
				t.Errorf("lastError %q shows the URL", got)
			}
		})
	}
}
