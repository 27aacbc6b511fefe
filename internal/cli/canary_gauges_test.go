package cli

import (
	"net"
	"testing"
)

func TestServeGauges(t *testing.T) {
	t.Run("serves until stopped", func(t *testing.T) {
		g, stop, err := serveGauges("127.0.0.1:0")
		if err != nil || g == nil {
			t.Fatalf("serveGauges: %v", err)
		}
		stop()
	})
	t.Run("an address in use is bad input", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, _, err := serveGauges(l.Addr().String()); exitCode(err) != ExitUsage {
			t.Fatalf("err %v (exit %d), want exit %d", err, exitCode(err), ExitUsage)
		}
	})
}
