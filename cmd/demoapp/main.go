// Command demoapp runs one component of the project's Emojivoto stand-in (internal/sandbox/demoapp) in
// a container: `demoapp emoji`, `demoapp voting` or `demoapp web`. It reads upstream
// Emojivoto's environment variables (GRPC_PORT, PROM_PORT, WEB_PORT, EMOJISVC_HOST,
// VOTINGSVC_HOST, FAILURE_RATE, ARTIFICIAL_DELAY), so deploy/emojivoto runs it unchanged.
// `make images` builds it into the emojivoto-* images; web is built twice, v1 and v2 (webVersion
// set at link time), and the two answer with different X-Demo-Version headers and
// /api/version bodies.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
)

// webVersion is what web reports; `make images` sets it with -ldflags -X main.webVersion=v2.
var webVersion = "v1"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demoapp emoji|voting|web|vote-bot")
		os.Exit(2)
	}
	if err := run(ctx, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func behaviour() (demoapp.Behaviour, error) {
	var b demoapp.Behaviour
	if v := os.Getenv("FAILURE_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return b, fmt.Errorf("FAILURE_RATE: %w", err)
		}
		b.FailureRate = f
	}
	if v := os.Getenv("ARTIFICIAL_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			// Upstream takes milliseconds.
			ms, err2 := strconv.Atoi(v)
			if err2 != nil {
				return b, fmt.Errorf("ARTIFICIAL_DELAY: %w", err)
			}
			d = time.Duration(ms) * time.Millisecond
		}
		b.Delay = d
	}
	return b, b.Validate()
}

func run(ctx context.Context, kind string) error {
	b, err := behaviour()
	if err != nil {
		return err
	}
	knobs := demoapp.NewKnobs(b)
	switch kind {
	case "emoji", "voting":
		s := demoapp.NewGRPCServer(nil)
		if kind == "emoji" {
			demoapp.RegisterEmoji(s, knobs)
		} else {
			demoapp.RegisterVoting(s, &demoapp.Votes{}, knobs)
		}
		l, err := net.Listen("tcp", ":"+env("GRPC_PORT", "8080"))
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.Handler())
		mux.Handle(demoapp.AdminPath, knobs)
		prom := &http.Server{Addr: ":" + env("PROM_PORT", "8801"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = prom.ListenAndServe() }()
		go func() {
			<-ctx.Done()
			_ = prom.Close()
			s.GracefulStop()
		}()
		fmt.Printf("%s-svc serving gRPC on %s\n", kind, l.Addr())
		return s.Serve(l)
	case "web":
		emoji, err := demoapp.Dial(env("EMOJISVC_HOST", "emoji-svc:8080"), nil)
		if err != nil {
			return err
		}
		defer emoji.Close()
		voting, err := demoapp.Dial(env("VOTINGSVC_HOST", "voting-svc:8080"), nil)
		if err != nil {
			return err
		}
		defer voting.Close()
		host, _ := os.Hostname()
		web := demoapp.NewWeb(emoji, voting, knobs, webVersion, host)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Demo-Version", webVersion)
			fmt.Fprintf(w, "{\"version\":%q}\n", webVersion)
		})
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Demo-Version", webVersion)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>emojivoto %[1]s</title><h1>Emojivoto (web %[1]s)</h1><p>API: /api/list, /api/vote?choice=:joy:, /api/leaderboard</p>\n", webVersion)
		})
		mux.Handle("/", web)
		srv := &http.Server{Addr: ":" + env("WEB_PORT", "8080"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		fmt.Printf("web %s serving HTTP on %s\n", webVersion, srv.Addr)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case "vote-bot":
		return voteBot(ctx, env("WEB_HOST", "web-svc:80"))
	}
	return fmt.Errorf("unknown component %q: use emoji, voting, web or vote-bot", kind)
}

// voteBot votes for a random emoji of web's list about once a second, as upstream's vote-bot.
func voteBot(ctx context.Context, host string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + host
	var shortcodes []string
	for len(shortcodes) == 0 {
		var list []struct {
			Shortcode string `json:"shortcode"`
		}
		resp, err := client.Get(base + "/api/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
		}
		for _, e := range list {
			shortcodes = append(shortcodes, e.Shortcode)
		}
		if len(shortcodes) == 0 {
			fmt.Fprintf(os.Stderr, "vote-bot: list emojis from %s: %v\n", base, err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	fmt.Printf("vote-bot voting on %s\n", base)
	for {
		choice := shortcodes[rand.IntN(len(shortcodes))]
		resp, err := client.Post(base+"/api/vote?choice="+url.QueryEscape(choice), "text/plain", nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vote-bot: %v\n", err)
		} else {
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
