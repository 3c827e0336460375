package admission

import "testing"

func TestGauge(t *testing.T) {
	g := newGauge(2, 3)
	a1, ok1 := g.enter("a")
	_, ok2 := g.enter("a")
	_, ok3 := g.enter("a")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("per key: %v %v %v, want two in and the third out", ok1, ok2, ok3)
	}
	_, okb := g.enter("b")
	_, okc := g.enter("c")
	if !okb || okc || !g.full() {
		t.Fatalf("total: b %v, c %v, full %v; want b in, c out at the total of 3", okb, okc, g.full())
	}
	a1()
	a1() // idempotent
	if _, ok := g.enter("c"); !ok {
		t.Fatal("a release made no room")
	}
	if _, ok := g.enter("d"); ok {
		t.Fatal("a double release made room twice")
	}
}
