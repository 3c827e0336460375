package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"iexbox/internal/protocol"
)

// ClassRequest asks for a class (POST /classes).
type ClassRequest struct {
	Title     string     `json:"title"`
	Seats     int        `json:"seats"`
	Exercises []string   `json:"exercises,omitempty"`
	StartsAt  *time.Time `json:"starts_at,omitempty"`
}

// ClassError is an error answer of the classes' API, with its HTTP status.
type ClassError struct {
	Status int
	protocol.ClassError
}

func (e *ClassError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.ClassError.Error, e.Message)
}

// Classes speaks the classes' HTTP API of the server at Base (http[s] or
// ws[s]://host:port). HTTP nil means http.DefaultClient.
type Classes struct {
	Base string
	HTTP *http.Client
}

// Open opens a class with auth, a teacher key or a token with "teach"
// ("" from the server's own machine when it configures neither).
func (c Classes) Open(ctx context.Context, auth string, req ClassRequest) (protocol.ClassCreated, error) {
	var created protocol.ClassCreated
	err := c.call(ctx, http.MethodPost, "/classes", auth, req, http.StatusCreated, &created)
	return created, err
}

// Roster reads the class code (as shown) with its teacher token.
func (c Classes) Roster(ctx context.Context, code, teacher string) (protocol.ClassRoster, error) {
	var r protocol.ClassRoster
	err := c.call(ctx, http.MethodGet, "/classes/"+url.PathEscape(code), teacher, nil, http.StatusOK, &r)
	return r, err
}

// End ends the class: every session of it ends with class_ended.
func (c Classes) End(ctx context.Context, code, teacher string) (protocol.ClassRoster, error) {
	var r protocol.ClassRoster
	err := c.call(ctx, http.MethodPost, "/classes/"+url.PathEscape(code)+"/end", teacher, nil, http.StatusOK, &r)
	return r, err
}

// Message sends text to every console of the class and reports how many
// it reached.
func (c Classes) Message(ctx context.Context, code, teacher, text string) (int, error) {
	var got struct {
		Delivered int `json:"delivered"`
	}
	err := c.call(ctx, http.MethodPost, "/classes/"+url.PathEscape(code)+"/message", teacher,
		map[string]string{"text": text}, http.StatusOK, &got)
	return got.Delivered, err
}

// Show shows the shared session watch names (the teacher's console, see
// Shared) to every learner of the class: each is told its watch link.
func (c Classes) Show(ctx context.Context, code, teacher, watch string) (protocol.ClassShown, error) {
	var got protocol.ClassShown
	err := c.call(ctx, http.MethodPost, "/classes/"+url.PathEscape(code)+"/show", teacher,
		map[string]string{"watch": watch}, http.StatusOK, &got)
	return got, err
}

// Unshow stops showing the teacher's console and reports how many
// sessions it told.
func (c Classes) Unshow(ctx context.Context, code, teacher string) (int, error) {
	var got struct {
		Delivered int `json:"delivered"`
	}
	err := c.call(ctx, http.MethodDelete, "/classes/"+url.PathEscape(code)+"/show", teacher, nil, http.StatusOK, &got)
	return got.Delivered, err
}

// Delete deletes the class with its learners and results.
func (c Classes) Delete(ctx context.Context, code, teacher string) error {
	return c.call(ctx, http.MethodDelete, "/classes/"+url.PathEscape(code), teacher, nil, http.StatusNoContent, nil)
}

// call sends body (JSON, nil for none) and decodes a JSON answer of
// status want into out; any other status is a *ClassError.
func (c Classes) call(ctx context.Context, method, path, bearer string, body any, want int, out any) error {
	u, err := url.Parse(c.Base)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String()+path, r)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		e := &ClassError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.ClassError) != nil {
			e.ClassError.Message = string(bytes.TrimSpace(data))
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
