package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// netHTTP is the net/http transport. With a fixed connection count it holds one client per
// connection (each with a transport allowed one connection per host), so exactly n
// connections exist and a hit waits for a free one; otherwise one shared client.
type netHTTP struct {
	shared *http.Client
	free   chan *http.Client
	all    []*http.Client
}

func (a *Attacker) newClient(conns int) *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         a.dialer().DialContext,
		TLSClientConfig:     a.tlsConfig,
		MaxIdleConnsPerHost: DefaultIdleConnections,
		DisableKeepAlives:   !a.keepAlive,
	}
	if conns > 0 {
		tr.MaxConnsPerHost = conns
		tr.MaxIdleConnsPerHost = conns
	}
	return &http.Client{
		Transport: tr,
		Timeout:   a.timeout,
		// Redirects are results, not something to follow, so each hit is one request.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (a *Attacker) newNetHTTP() *netHTTP {
	if a.connections <= 0 {
		c := a.newClient(0)
		return &netHTTP{shared: c, all: []*http.Client{c}}
	}
	p := &netHTTP{free: make(chan *http.Client, a.connections)}
	for range a.connections {
		c := a.newClient(1)
		p.all = append(p.all, c)
		p.free <- c
	}
	return p
}

// Hit implements Transport.
func (p *netHTTP) Hit(ctx context.Context, tgt *Target, h *Hit) bool {
	c, err := p.get(ctx)
	if err != nil {
		return false
	}
	defer p.put(c)

	req := tgt.template.WithContext(ctx)
	if tgt.Body != nil {
		req.Body = io.NopCloser(bytes.NewReader(tgt.Body))
		req.GetBody = tgt.template.GetBody
	}
	h.Timestamp = time.Now()
	resp, err := c.Do(req)
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.BytesIn = uint64(n)
		h.Code = uint16(resp.StatusCode)
		if err == nil && (h.Code < 200 || h.Code >= 400) {
			h.Error = resp.Status
		}
	}
	h.Latency = time.Since(h.Timestamp)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Cut short by the caller: not an outcome of the target.
			return false
		}
		h.Error = err.Error()
	}
	h.BytesOut = uint64(len(tgt.Body))
	return true
}

func (p *netHTTP) get(ctx context.Context) (*http.Client, error) {
	if p.shared != nil {
		return p.shared, nil
	}
	select {
	case c := <-p.free:
		return c, nil
	default:
	}
	select {
	case c := <-p.free:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *netHTTP) put(c *http.Client) {
	if p.shared == nil {
		p.free <- c
	}
}

// Close implements Transport.
func (p *netHTTP) Close() {
	for _, c := range p.all {
		c.CloseIdleConnections()
	}
}
