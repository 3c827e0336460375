package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"iexbox/internal/client"
)

// TestBrowserClassShowsTeachersConsole: the teacher shows their own
// console to the class from the teacher's page; the learner's page offers
// a "Teacher's console" panel, opened by keyboard, which shows what the
// teacher evaluated, and fits a phone; a lesson page with two consoles of
// the class offers it once; when the teacher stops, the panel closes and
// says so. Both pages pass axe-core's audit meanwhile.
func TestBrowserClassShowsTeachersConsole(t *testing.T) {
	s := startServer(t)
	class := openClass(t, s, client.ClassRequest{Title: "Shown", Seats: 2})

	ctx := newBrowser(t)
	teacher := ctx
	run(t, teacher, chromedp.Navigate(class.TeacherURL))
	waitJS(t, teacher, "the teacher's stream live", `!!(window.iexboxTeach && window.iexboxTeach.streaming())`)

	learner := newTab(t, ctx)
	run(t, learner, chromedp.Navigate(class.JoinURL))
	waitJS(t, learner, "the name asked", `!!(window.iexbox && window.iexbox.askingName())`)
	typeInto(t, learner, `document.querySelector('#join .join-name')`, "Ana")
	eval[bool](t, learner, `document.querySelector('#join .join-button').click(), true`)
	waitJS(t, learner, "Ana's session running", `window.iexbox.state() === 'running'`)
	if eval[bool](t, learner, `window.iexbox.teacherConsole().offered`) {
		t.Fatal("the teacher's console is offered before the teacher shows it")
	}

	// The teacher shows a console of their own and evaluates in it.
	eval[bool](t, teacher, `document.getElementById('show-console').click(), true`)
	waitJS(t, teacher, "the teacher's console shown", `window.iexboxTeach.showing()`)
	if got := eval[string](t, teacher, `document.getElementById('show-status').textContent`); !strings.Contains(got, "1 console told") {
		t.Errorf("the teacher's page says %q", got)
	}
	mine := `document.getElementById('teacher-console')`
	eval[bool](t, teacher, `window.ran = null, `+mine+`.run('"shown" <> "!"').then(out => window.ran = out), true`)
	waitJS(t, teacher, "the teacher's evaluation done", `(window.ran || '').includes('"shown!"')`)

	// Ana's page offers the panel; she opens it with the keyboard and sees
	// what the teacher evaluated, then what the teacher does next, live.
	waitJS(t, learner, "the panel offered", `window.iexbox.teacherConsole().offered && `+
		`window.iexbox.teacherConsole().status === 'Your teacher is showing their console'`)
	toggle := `document.querySelector('.teacher-toggle')`
	if got := eval[string](t, learner, toggle+`.getAttribute('aria-expanded') + ' ' + `+toggle+`.textContent`); got != "false Open teacher's console" {
		t.Errorf("the closed panel's button: %q", got)
	}
	eval[bool](t, learner, toggle+`.focus(), true`)
	run(t, learner, chromedp.KeyEvent("\r"))
	waitJS(t, learner, "the panel open", `window.iexbox.teacherConsole().open && `+toggle+`.getAttribute('aria-expanded') === 'true'`)
	if got := eval[string](t, learner, `document.querySelector('.teacher-frame').title`); got != "Teacher's console, read-only" {
		t.Errorf("the frame's title: %q", got)
	}
	frameTerm := `((document.querySelector('.teacher-frame').contentWindow || {}).iexbox || {}).term`
	waitBuffer(t, learner, frameTerm, `"shown!"`)
	if !eval[bool](t, learner, `document.querySelector('.teacher-frame').contentWindow.iexbox.viewer`) {
		t.Error("the panel is not a read-only viewer")
	}
	eval[bool](t, teacher, mine+`.run('"live" <> "!"'), true`)
	waitBuffer(t, learner, frameTerm, `"live!"`)
	screenshot(t, learner, "class-teacher-console.png")
	fits360(t, learner, "the learner's page with the teacher's console", `.teacher-toggle, .teacher-status, .teacher-frame`)
	screenshot(t, learner, "class-teacher-console-360.png")
	run(t, learner, chromedp.EmulateViewport(1280, 800))
	// The audit passes with the panel open (the full page is dark), and
	// on the teacher's page showing its console, in both its themes.
	axe := axeSource(t)
	if v := audit(t, learner, axe); len(v) > 0 {
		t.Errorf("the learner's page with the teacher's console open: %+v", v)
	}
	for _, theme := range []string{"dark", "light"} {
		eval[bool](t, teacher, `document.documentElement.dataset.theme === '`+theme+`' || document.getElementById('theme').click(), true`)
		if v := audit(t, teacher, axe); len(v) > 0 {
			t.Errorf("the teacher's page showing its console, %s: %+v", theme, v)
		}
	}

	// A lesson page with two consoles of the class offers it once.
	lesson := newTab(t, ctx)
	run(t, lesson, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	both := `[...document.querySelectorAll('iex-console')].slice(0, 2)`
	waitJS(t, lesson, "the consoles defined", `!!customElements.get('iex-console') && `+both+`.length === 2`)
	eval[bool](t, lesson, both+`.forEach(el => { el.setAttribute('classroom', `+jsString(class.Code)+`); el.run('1 + 1') }), true`)
	panels := both + `.map(el => el.shadowRoot.querySelector('.teacher-panel:not([hidden])')).filter(p => p)`
	waitJS(t, lesson, "the lesson's consoles running", both+`.every(el => el.state === 'ready')`)
	waitJS(t, lesson, "one panel offered", panels+`.length === 1 && !`+panels+`[0].querySelector('.teacher-toggle').hidden`)
	// The widget's panel, open, in both themes.
	eval[bool](t, lesson, panels+`[0].querySelector('.teacher-toggle').click(), true`)
	waitJS(t, lesson, "the lesson's panel open", `!`+panels+`[0].querySelector('.teacher-view').hidden`)
	for _, theme := range []string{"dark", "light"} {
		eval[bool](t, lesson, both+`.forEach(el => el.setAttribute('theme', '`+theme+`')), true`)
		if v := audit(t, lesson, axe); len(v) > 0 {
			t.Errorf("the lesson page with the teacher's console open, %s: %+v", theme, v)
		}
	}
	screenshot(t, lesson, "class-teacher-console-lesson-light.png")

	// The teacher stops: the panel closes and says so, on both pages.
	eval[bool](t, teacher, `document.getElementById('show-stop').click(), true`)
	waitJS(t, teacher, "the teacher's console no longer shown", `!window.iexboxTeach.showing() && `+
		`document.getElementById('show-status').textContent === 'Your console is no longer shown to the class.'`)
	waitJS(t, learner, "the panel withdrawn", `!window.iexbox.teacherConsole().offered && !window.iexbox.teacherConsole().open && `+
		`window.iexbox.teacherConsole().status === 'Your teacher stopped showing their console' && `+
		`document.querySelector('.teacher-frame').src === 'about:blank'`)
	waitJS(t, lesson, "the lesson's panel withdrawn", panels+`.length === 1 && `+panels+`[0].querySelector('.teacher-toggle').hidden && `+
		panels+`[0].querySelector('.teacher-status').textContent === 'Your teacher stopped showing their console'`)
	screenshot(t, learner, "class-teacher-console-stopped.png")
}
