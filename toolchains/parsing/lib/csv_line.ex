defmodule Lesson.CSVLine do
  @moduledoc """
  A parser for one line of comma-separated integers, written with
  NimbleParsec: the lesson's own module, compiled into the toolchain.

      iex> Lesson.CSVLine.parse("1,2,3")
      {:ok, [1, 2, 3]}
  """
  import NimbleParsec

  number = integer(min: 1)
  line = number |> repeat(ignore(string(",")) |> concat(number)) |> eos()

  defparsecp :numbers, line

  @doc "Parses a line such as \"1,2,3\" into its integers."
  def parse(text) do
    case numbers(text) do
      {:ok, numbers, "", _, _, _} -> {:ok, numbers}
      {:error, reason, _, _, _, _} -> {:error, reason}
    end
  end
end
