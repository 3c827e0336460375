package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/chromedp/chromedp"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// TestBrowserClassDelete: on the teacher's page, Download JSON saves the
// class's roster with its results, as GET /classes/CODE answers it; Delete
// class asks first (Cancel keeps the class), then ends the learners'
// consoles with class_ended and leaves no class behind: its API answers as
// for an unknown class and its code joins no one.
func TestBrowserClassDelete(t *testing.T) {
	s := startServer(t, "-pool", "0")
	class := openClass(t, s, client.ClassRequest{Title: "Enum", Exercises: []string{"enum/double"}})
	ana := s.connect(t)
	ana.joinClass(t, class.Code, "Ana", "", "enum/double")
	ana.waitPrompt(t, readyWait)
	if res, _ := ana.checkRan(t, "right", doubleFixed); res.Status != "pass" {
		t.Fatalf("the right answer checked %q: %s", res.Status, res.Message)
	}

	ctx, downloads := newDownloadingBrowser(t)
	run(t, ctx, chromedp.Navigate(class.TeacherURL))
	waitJS(t, ctx, "Ana's result on the teacher's page", `!!(window.iexboxTeach && window.iexboxTeach.streaming()) && `+
		`window.iexboxTeach.roster().length === 1 && document.querySelector('.learner').textContent.includes('5/5 passed')`)

	// Download JSON: the file is the class as its API tells it.
	eval[bool](t, ctx, `document.getElementById('download-json').click(), true`)
	waitJS(t, ctx, "the JSON downloaded", `document.getElementById('action-status').textContent === 'Results downloaded as class-`+class.Code+`-results.json.'`)
	var file protocol.ClassRoster
	if err := json.Unmarshal([]byte(waitFile(t, filepath.Join(downloads, "class-"+class.Code+"-results.json"))), &file); err != nil {
		t.Fatalf("the downloaded JSON: %v", err)
	}
	api, err := s.classes().Roster(t.Context(), class.Code, class.TeacherToken)
	if err != nil {
		t.Fatal(err)
	}
	if file.Code != api.Code || file.Title != api.Title || !reflect.DeepEqual(file.Exercises, api.Exercises) || !reflect.DeepEqual(file.Summary, api.Summary) {
		t.Errorf("the downloaded class %+v, the API's %+v", file, api)
	}
	if len(file.Learners) != 1 || len(api.Learners) != 1 {
		t.Fatalf("learners: downloaded %+v, API %+v", file.Learners, api.Learners)
	}
	fl, al := file.Learners[0], api.Learners[0]
	if fl.ID != al.ID || fl.Name != "Ana" || !reflect.DeepEqual(fl.Exercises, al.Exercises) {
		t.Errorf("the downloaded learner %+v, the API's %+v", fl, al)
	}
	if r := fl.Exercises["enum/double"]; r.Status != "pass" || r.Passed != r.Total || r.Total == 0 || r.SolvedAt == nil {
		t.Errorf("the downloaded result of enum/double: %+v", r)
	}

	// Delete class asks first; Cancel keeps the class.
	eval[bool](t, ctx, `document.getElementById('delete-class').focus(), document.getElementById('delete-class').click(), true`)
	waitJS(t, ctx, "the confirmation asked", `document.getElementById('confirm').open && document.activeElement.id === 'confirm-cancel' && `+
		`document.getElementById('confirm-title').textContent === 'Delete the class?' && document.getElementById('confirm-ok').textContent === 'Delete class'`)
	eval[bool](t, ctx, `document.getElementById('confirm-cancel').click(), true`)
	waitJS(t, ctx, "the confirmation closed", `!document.getElementById('confirm').open && document.activeElement.id === 'delete-class'`)
	if _, err := s.classes().Roster(t.Context(), class.Code, class.TeacherToken); err != nil {
		t.Fatalf("after Cancel the class is gone: %v", err)
	}
	if e, ok := ana.nextEvent("exit", 0); ok {
		t.Fatalf("after Cancel Ana's console ended: %s", e.raw)
	}

	// Confirmed: the learner's console ends, the page says so, and the
	// class is gone.
	eval[bool](t, ctx, `document.getElementById('delete-class').click(), true`)
	waitJS(t, ctx, "the confirmation asked again", `document.getElementById('confirm').open`)
	eval[bool](t, ctx, `document.getElementById('confirm-ok').click(), true`)
	if e := ana.waitEvent(t, "exit", eventWait); e.Reason != "class_ended" {
		t.Errorf("Ana's exit: %s", e.raw)
	}
	ana.requireClose(t, closeClassEnded, eventWait)
	waitJS(t, ctx, "the page saying the class is deleted", `document.getElementById('stream-text').textContent === 'Deleted' && `+
		`document.getElementById('problem').textContent === 'The class was deleted, with its learners and results.' && `+
		`document.getElementById('download-json').disabled && document.getElementById('delete-class').disabled`)
	if eval[bool](t, ctx, `sessionStorage.getItem('iexbox.teach') !== null`) {
		t.Error("the teacher token is still kept after the class was deleted")
	}
	for _, path := range []string{"/classes/" + class.Code, "/classes/" + class.Code + "/results.json"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+class.TeacherToken)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after the delete: %s, want 403 or 404 as for an unknown class", path, resp.Status)
		}
	}
	late := s.connect(t)
	late.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Class: class.Code, Name: "Cy"})
	if e := late.waitEvent(t, "error", eventWait); e.errorCode() != "not_found" {
		t.Errorf("joining the deleted class: %s, want not_found", e.raw)
	}
}
