defmodule Match do
  # Swap the two elements of a pair: {1, 2} becomes {2, 1}.
  def swap(pair) do
  end

  # The first two elements of a list, as a pair: [1, 2, 3] gives {1, 2}.
  def first_two(list) do
  end
end
