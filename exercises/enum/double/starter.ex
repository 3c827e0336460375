defmodule Double do
  # Double every number of a list with Enum.map/2: [1, 2, 3] gives [2, 4, 6].
  # Lesson.numbers() (loaded in your console) is a list to try it on.
  def double(list) do
  end
end
