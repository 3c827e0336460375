defmodule MatchTest do
  use ExUnit.Case

  @tag task_id: 1
  test "swaps a pair of numbers" do
    assert Match.swap({1, 2}) == {2, 1}
  end

  @tag task_id: 1
  test "swaps a pair of anything" do
    assert Match.swap({:ok, "done"}) == {"done", :ok}
  end

  @tag task_id: 2
  test "takes the first two of a long list" do
    assert Match.first_two([1, 2, 3, 4]) == {1, 2}
  end

  @tag task_id: 2
  test "takes a list of exactly two" do
    assert Match.first_two([:a, :b]) == {:a, :b}
  end

  @tag task_id: 2
  test "a list of one has no first two" do
    assert_raise FunctionClauseError, fn -> Match.first_two([1]) end
  end
end
