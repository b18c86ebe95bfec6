// Package store is tracesync's bbolt persistence: the durable job queue and
// every other record the app keeps. It implements the ports declared in app/.
package store
