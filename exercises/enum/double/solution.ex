defmodule Double do
  def double(list), do: Enum.map(list, &(&1 * 2))
end
