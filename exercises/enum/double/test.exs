defmodule DoubleTest do
  use ExUnit.Case

  test "doubles a list" do
    assert Double.double([1, 2, 3]) == [2, 4, 6]
  end

  test "an empty list stays empty" do
    assert Double.double([]) == []
  end

  test "doubles negative numbers" do
    assert Double.double([-1, -5]) == [-2, -10]
  end

  test "doubles the lesson's numbers" do
    assert Double.double(Lesson.numbers()) == [2, 4, 6, 20]
  end

  test "keeps the order" do
    assert Double.double([3, 1, 2]) == [6, 2, 4]
  end
end
