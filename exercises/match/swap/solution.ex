defmodule Match do
  def swap({a, b}), do: {b, a}

  def first_two([a, b | _]), do: {a, b}
end
