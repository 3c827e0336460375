package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"iexbox/internal/protocol"
)

// Toolchains asks the server at base (http[s]://host:port, or its ws[s]://
// URL) for the toolchains a hello may name, GET /toolchains. hc nil means
// http.DefaultClient.
func Toolchains(ctx context.Context, hc *http.Client, base string) ([]protocol.Toolchain, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawQuery = "/toolchains", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var list []protocol.Toolchain
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return list, nil
}
