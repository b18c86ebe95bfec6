package metrcsim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Outage is how the simulator behaves while Metrc is down.
type Outage int

const (
	// OutageNone: Metrc is up.
	OutageNone Outage = iota
	// Outage503: every API request answers 503 with an HTML page (a proxy's).
	Outage503
	// OutageDrop: every API request's connection is closed with no answer.
	OutageDrop
	// OutageHang: no API request is answered until the client gives up.
	OutageHang
)

func (o Outage) String() string {
	switch o {
	case OutageNone:
		return "none"
	case Outage503:
		return "503"
	case OutageDrop:
		return "drop"
	case OutageHang:
		return "hang"
	}
	return fmt.Sprintf("Outage(%d)", int(o))
}

// MarshalText writes the outage's name.
func (o Outage) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads "none", "503", "drop" or "hang" ("" = none).
func (o *Outage) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "", "none", "up":
		*o = OutageNone
	case "503", "html":
		*o = Outage503
	case "drop", "reset", "close":
		*o = OutageDrop
	case "hang", "timeout":
		*o = OutageHang
	default:
		return fmt.Errorf("metrcsim: unknown outage %q", b)
	}
	return nil
}

// Faults are the misbehaviours currently injected. The zero value is a
// healthy Metrc.
type Faults struct {
	Outage  Outage        // answer no API request normally
	Latency time.Duration // added to every API answer
	// GetRateLimit is the GETs per second per license above which 429 is
	// answered (0 = off).
	GetRateLimit float64
	RetryAfter   time.Duration // sent with 429 (0 = header absent); whole seconds
	Fail500      []string      // path prefixes answered 500, e.g. "/sales/v2/receipts"
	Fail500Prob  float64       // ... with this probability (0 = always when listed)
	// DropAfterApply is the probability that a successful write is applied
	// and then its connection closed with no response.
	DropAfterApply float64
}

// faultsJSON is Faults on the wire of the control endpoints: durations as
// strings ("250ms") or numbers of milliseconds.
type faultsJSON struct {
	Outage         Outage
	Latency        jsonDuration
	GetRateLimit   float64
	RetryAfter     jsonDuration
	Fail500        []string
	Fail500Prob    float64
	DropAfterApply float64
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{f.Outage, jsonDuration(f.Latency), f.GetRateLimit,
		jsonDuration(f.RetryAfter), f.Fail500, f.Fail500Prob, f.DropAfterApply})
}

// UnmarshalJSON reads what MarshalJSON writes (durations may also be numbers
// of milliseconds).
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Faults{j.Outage, time.Duration(j.Latency), j.GetRateLimit, time.Duration(j.RetryAfter),
		j.Fail500, j.Fail500Prob, j.DropAfterApply}
	return nil
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*d = 0
	case float64:
		*d = jsonDuration(time.Duration(x * float64(time.Millisecond)))
	case string:
		if x == "" {
			*d = 0
			return nil
		}
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("metrcsim: duration %q: %w", x, err)
		}
		*d = jsonDuration(p)
	default:
		return fmt.Errorf("metrcsim: bad duration %s", b)
	}
	return nil
}

// Phase is one step of a fault schedule: its Faults hold from After (since
// Schedule was called) until the next phase's After.
type Phase struct {
	After  time.Duration
	Faults Faults
}

type phaseJSON struct {
	After  jsonDuration
	Faults Faults
}

// MarshalJSON writes After as a duration string.
func (p Phase) MarshalJSON() ([]byte, error) {
	return json.Marshal(phaseJSON{jsonDuration(p.After), p.Faults})
}

// UnmarshalJSON reads After as a duration string or milliseconds.
func (p *Phase) UnmarshalJSON(b []byte) error {
	var j phaseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Phase{time.Duration(j.After), j.Faults}
	return nil
}

// SetFaults replaces the current faults at once (and cancels any schedule).
func (s *Sim) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = cloneFaults(f)
	s.phases = nil
}

// Faults returns the faults in force now (following the schedule, if any).
func (s *Sim) Faults() Faults {
	now := s.now()
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return cloneFaults(s.currentLocked(now))
}

// Schedule starts a schedule from now: each phase's faults start after its
// offset and hold until the next phase's; before the first phase (and with
// no phases) the faults are cleared. The last phase holds until SetFaults
// or another Schedule.
func (s *Sim) Schedule(phases ...Phase) {
	now := s.now()
	ps := make([]Phase, len(phases))
	for i, p := range phases {
		ps[i] = Phase{p.After, cloneFaults(p.Faults)}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].After < ps[j].After })
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = Faults{}
	s.phases = ps
	s.schedAt = now
}

func (s *Sim) currentLocked(now time.Time) Faults {
	if len(s.phases) == 0 {
		return s.faults
	}
	el := now.Sub(s.schedAt)
	f := s.faults
	for _, p := range s.phases {
		if el < p.After {
			break
		}
		f = p.Faults
	}
	return f
}

func cloneFaults(f Faults) Faults {
	f.Fail500 = append([]string(nil), f.Fail500...)
	return f
}

// chance reports true with probability p (p <= 0 never, p >= 1 always).
func (s *Sim) chanceLocked(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return s.rng.Float64() < p
}

// bucket is a token bucket on the simulator's clock.
type bucket struct {
	tokens float64
	last   time.Time
}

// allowGetLocked takes a token from the license's GET bucket; capacity is
// one second's worth (at least 1).
func (s *Sim) allowGetLocked(lic string, rate float64, now time.Time) bool {
	b := s.buckets[lic]
	burst := math.Max(1, math.Floor(rate))
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[lic] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el*rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
