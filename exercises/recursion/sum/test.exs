defmodule RecursionTest do
  use ExUnit.Case

  test "the sum of nothing is 0" do
    assert Recursion.sum([]) == 0
  end

  test "the sum of one number is that number" do
    assert Recursion.sum([7]) == 7
  end

  test "adds several numbers" do
    assert Recursion.sum([1, 2, 3, 4]) == 10
  end

  test "handles negative numbers" do
    assert Recursion.sum([5, -3, -2]) == 0
  end

  test "copes with a long list" do
    assert Recursion.sum(Enum.to_list(1..10_000)) == 50_005_000
  end
end
