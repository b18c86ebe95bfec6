package app

import "time"

// SettingsKey is the LicenseStore setting under which the Settings screen
// keeps Settings (JSON). API keys and the SMTP password are not part of it:
// they live in the OS keyring.
const SettingsKey = "app-settings"

// The OS keyring entries of tracesync's secrets, all under KeyringService.
const (
	KeyringService      = "tracesync"
	KeyringVendorKey    = "vendor-key"
	KeyringUserKey      = "user-key"
	KeyringSMTPPassword = "smtp-password"
)

// Settings are the non-secret settings a person edits in the window. Zero
// fields mean "use the default" (DESIGN.md), so an absent record is valid.
type Settings struct {
	MetrcURL     string        `json:"metrcUrl,omitempty"` // explicit base URL; wins over State
	State        string        `json:"state,omitempty"`    // two-letter state: https://api-<state>.metrc.com
	TimeZone     string        `json:"timeZone,omitempty"` // IANA; default from the Metrc host
	PullInterval time.Duration `json:"pullInterval,omitempty"`

	// Health thresholds (DESIGN.md rule 6).
	PullStale     time.Duration `json:"pullStale,omitempty"`     // red after no pull for this long (20m)
	RecentFailure time.Duration `json:"recentFailure,omitempty"` // orange after a failure this recent (20m)
	SlowP95       time.Duration `json:"slowP95,omitempty"`       // orange when p95 over 15 min exceeds it (10s)
	OldestPending time.Duration `json:"oldestPending,omitempty"` // orange when the oldest pending is older (1h)
	DeadlineWarn  time.Duration `json:"deadlineWarn,omitempty"`  // red this long before the 24 h deadline (4h)

	// Report mail; the SMTP password is in the keyring (KeyringSMTPPassword).
	SMTPHost     string   `json:"smtpHost,omitempty"`
	SMTPPort     int      `json:"smtpPort,omitempty"`
	SMTPStartTLS bool     `json:"smtpStartTLS,omitempty"`
	SMTPUser     string   `json:"smtpUser,omitempty"`
	SMTPFrom     string   `json:"smtpFrom,omitempty"`
	AdminEmails  []string `json:"adminEmails,omitempty"`
	ReportTime   string   `json:"reportTime,omitempty"` // "02:00", local
}
