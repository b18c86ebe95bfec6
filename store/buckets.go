package store

// Every bucket tracesync keeps, created in Open (allBuckets). Sibling files
// of other parts (monitor.go, audit.go) fill the ones declared for them here,
// so that a new release never meets a file without the bucket it expects.
var (
	// bucketMeta holds the schema version ("schema") and other file facts.
	bucketMeta = []byte("meta")

	// bucketJobs: job id (8-byte big-endian, from NextSequence) -> app.Job JSON.
	bucketJobs = []byte("jobs")
	// bucketJobKeys: job key -> job id. Enforces one job per key.
	bucketJobKeys = []byte("job_keys")
	// bucketJobState: license \0 state \0 id -> for pending and retrying
	// jobs their NextAttempt and the labels they read (dueValue), else
	// nothing. Every job: lists by license and state, Recover, MakeDue, and
	// Due's walk in id order when many are due.
	bucketJobState = []byte("job_state")
	// bucketJobDueAt: license \0 nextAttempt \0 id -> nothing, for pending and
	// retrying jobs: NextDue is its first key, Due's cheap "what is due" walk.
	bucketJobDueAt = []byte("job_due_at")
	// bucketJobChangers: license \0 label \0 id -> nothing, for unfinished
	// jobs whose Changes() holds the label. The first key under a label
	// prefix is the earliest job a reader of that label must wait for.
	bucketJobChangers = []byte("job_changers")
	// bucketJobOpenCreated: license \0 created \0 id -> nothing, unfinished
	// jobs: the oldest unfinished job is the first key of the license.
	bucketJobOpenCreated = []byte("job_open_created")
	// bucketJobOpenBusiness: license \0 businessTime \0 id -> nothing,
	// unfinished jobs with a business time: the deadline clock.
	bucketJobOpenBusiness = []byte("job_open_business")
	// bucketJobStats: license -> counts per state (JSON), updated in the
	// same transaction as every change.
	bucketJobStats = []byte("job_stats")

	// bucketLicenses: license number -> app.License JSON.
	bucketLicenses = []byte("licenses")
	// bucketSettings: setting key -> JSON value (non-secret settings only).
	bucketSettings = []byte("settings")
	// bucketPackages: license \0 label -> app.Package JSON.
	bucketPackages = []byte("packages")
	// bucketRefData: license -> app.RefData JSON.
	bucketRefData = []byte("refdata")
	// bucketTransfers: license \0 transfer id (8-byte big-endian) ->
	// storedTransfer JSON: incoming transfers as Metrc last reported them.
	bucketTransfers = []byte("transfers")

	// Filled by the engine (store/monitor.go).
	bucketOutages       = []byte("outages")
	bucketLatency       = []byte("latency")
	bucketLatencyHourly = []byte("latency_hourly")
	bucketPullState     = []byte("pull_state")

	// Filled by reconcile (store/audit.go).
	bucketAudit   = []byte("audit")
	bucketRepairs = []byte("repairs")
	bucketReports = []byte("reports")
	bucketOutbox  = []byte("mail_outbox")
)

// allBuckets lists every bucket Open creates.
var allBuckets = [][]byte{
	bucketMeta,
	bucketJobs, bucketJobKeys, bucketJobState, bucketJobDueAt,
	bucketJobChangers, bucketJobOpenCreated, bucketJobOpenBusiness,
	bucketJobStats,
	bucketLicenses, bucketSettings, bucketPackages, bucketRefData,
	bucketTransfers,
	bucketOutages, bucketLatency, bucketLatencyHourly, bucketPullState,
	bucketAudit, bucketRepairs, bucketReports, bucketOutbox,
}
