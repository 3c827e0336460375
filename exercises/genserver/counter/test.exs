defmodule CounterTest do
  use ExUnit.Case

  test "starts at its initial value" do
    {:ok, pid} = Counter.start_link(5)
    assert Counter.value(pid) == 5
  end

  test "increments by one" do
    {:ok, pid} = Counter.start_link(0)
    Counter.increment(pid)
    assert Counter.value(pid) == 1
  end

  test "counts many increments" do
    {:ok, pid} = Counter.start_link(0)
    for _ <- 1..100, do: Counter.increment(pid)
    assert Counter.value(pid) == 100
  end

  test "two counters are independent" do
    {:ok, a} = Counter.start_link(0)
    {:ok, b} = Counter.start_link(10)
    Counter.increment(a)
    assert {Counter.value(a), Counter.value(b)} == {1, 10}
  end

  test "runs as a process of its own" do
    {:ok, pid} = Counter.start_link(0)
    assert Process.alive?(pid)
    assert pid != self()
  end
end
