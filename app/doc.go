// Package app holds tracesync's domain: licenses, packages, queued Metrc
// writes (jobs) and their states, health, and the ports (small interfaces)
// through which the engine and the UI reach storage and Metrc.
//
// It imports nothing of ours and nothing of Fyne, bbolt or HTTP: store/
// implements the storage ports, app/metrc the Metrc port, ui/ draws.
package app
