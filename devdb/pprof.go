package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofAddrEnv names the loopback address on which devdb serves Go's profiler
// (net/http/pprof under /debug/pprof/), e.g. 127.0.0.1:6061; unset, it serves nothing.
// See docs/internals/embedded-database.md for taking a profile during `npm run bench`.
const pprofAddrEnv = "DEVDB_PPROF_ADDR"

// servePprof starts the profiler's HTTP server when DEVDB_PPROF_ADDR is set. It refuses an
// address that is not a loopback IP: the profiler shows the process's memory and stacks.
func servePprof() error {
	addr := os.Getenv(pprofAddrEnv)
	if addr == "" {
		return nil
	}

	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", pprofAddrEnv, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s=%q: the host must be a loopback IP such as 127.0.0.1", pprofAddrEnv, addr)
	}

	// Its own mux, so nothing else registered on http.DefaultServeMux is served.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", pprofAddrEnv, err)
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()

	return nil
}
