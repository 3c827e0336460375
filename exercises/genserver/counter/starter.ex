defmodule Counter do
  use GenServer

  # Counter.start_link(5) starts a counter at 5.
  def start_link(initial), do: GenServer.start_link(__MODULE__, initial)

  def increment(pid), do: GenServer.cast(pid, :increment)

  def value(pid), do: GenServer.call(pid, :value)

  @impl true
  def init(initial), do: {:ok, initial}

  # Handle :increment (add one) and :value (reply with the count).
end
