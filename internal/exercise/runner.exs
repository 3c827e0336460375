# The check runner: one BEAM per check, run apart from the learner's iex.
# It boots and warms the compiler and ExUnit first, prints "ready", then
# reads one JSON request from standard input ({"code", "tests", "setup",
# "nonce", "timeout_ms", "memory"}), compiles the learner's code and the exercise's
# tests, runs them and prints the marker "\n<nonce> " and a results.json v3
# shaped object on one line. Output the tests print is kept per test.
defmodule IexboxCheck do
  @cap 4096
  @max_tests 100

  def main do
    ExUnit.start(autorun: false, formatters: [IexboxCheck.Formatter], max_cases: 1, seed: 0, colors: [enabled: false])
    :ets.new(:iexbox_results, [:named_table, :public, :ordered_set])
    out = Process.group_leader()
    warm()
    IO.write(out, "ready\n")
    request = JSON.decode!(IO.binread(out, :eof))
    result = check(request, out)
    # IO.write: the device is in unicode mode, where binwrite would take
    # the UTF-8 bytes for Latin-1 characters and encode them again.
    IO.write(out, "\n" <> request["nonce"] <> " " <> JSON.encode!(result) <> "\n")
    :erlang.halt(0)
  end

  # Loads what every check needs, so a check pays only for its own code.
  defp warm do
    {:ok, capture} = IexboxCheck.Capture.start()
    Process.group_leader(self(), capture)
    # What the code writes to standard error is captured too.
    Process.unregister(:standard_error)
    Process.register(capture, :standard_error)
    Code.compile_string("""
    defmodule IexboxWarmTest do
      use ExUnit.Case
      test "warm" do
        assert [1] == Enum.map([1], & &1)
        assert_raise ArgumentError, fn -> raise ArgumentError end
      end
    end
    """)
    ExUnit.run()
    :code.purge(IexboxWarmTest)
    :code.delete(IexboxWarmTest)
    :ets.delete_all_objects(:iexbox_results)
    IexboxCheck.Capture.reset(capture)
  end

  defp check(req, out) do
    guard(req["memory"], out)
    ExUnit.configure(timeout: req["timeout_ms"])
    with :ok <- setup(req["setup"]) do
      check_code(req)
    end
  end

  defp setup(""), do: :ok
  defp setup(code) do
    case compile(code, "setup.exs") do
      :ok -> :ok
      {:error, message} -> %{status: "error", message: cut("the exercise's setup.exs does not compile: " <> message), tests: []}
    end
  end

  defp check_code(req) do
    case compile(req["code"], "solution.ex") do
      {:error, message} -> %{status: "error", message: cut(message), tests: []}
      :ok ->
        case compile(req["tests"], "test.exs") do
          {:error, message} -> %{status: "error", message: cut("the tests do not compile: " <> message), tests: []}
          :ok -> run()
        end
    end
  end

  # Bounds memory: every new process may hold at most a share of the
  # ceiling (binaries included), and a watchdog halts the whole BEAM
  # before the sandbox's limit could be reached.
  defp guard(memory, out) do
    words = div(memory, :erlang.system_info(:wordsize))
    :persistent_term.put(:iexbox_out, out)
    :logger.add_handler(:iexbox_memory, IexboxCheck.MemoryHandler, %{})
    :erlang.system_flag(:max_heap_size, %{size: words, kill: true, error_logger: true, include_shared_binaries: true})
    spawn(fn -> watch(memory, out) end)
  end

  # Ends the check for a reason of its own: the marker tells the server why.
  def stop(marker) do
    IO.write(:persistent_term.get(:iexbox_out), "\n" <> marker <> "\n")
    :erlang.halt(3)
  end

  defp watch(memory, out) do
    if :erlang.memory(:total) > memory, do: stop("IEXBOX_MEMORY")
    Process.sleep(10)
    watch(memory, out)
  end

  defp compile(code, file) do
    parent = self()
    {pid, ref} =
      spawn_monitor(fn ->
        {result, diagnostics} =
          Code.with_diagnostics(fn ->
            try do
              Code.compile_string(code, file)
              :ok
            rescue
              e -> {:error, Exception.message(e)}
            end
          end)
        send(parent, {:compiled, self(), result, diagnostics})
      end)
    receive do
      {:compiled, ^pid, :ok, _} -> Process.demonitor(ref, [:flush]); :ok
      {:compiled, ^pid, {:error, message}, diagnostics} ->
        Process.demonitor(ref, [:flush])
        errors = for d <- diagnostics, d.severity == :error, do: describe(d)
        {:error, if(errors == [], do: message, else: Enum.join(errors, "\n"))}
      {:DOWN, ^ref, _, _, reason} -> {:error, "compiling #{file} failed: " <> Exception.format_exit(reason)}
    end
  end

  defp describe(%{file: file, position: pos, message: message}) do
    line = case pos do
      {l, _} -> l
      l when is_integer(l) -> l
      _ -> nil
    end
    place = if line, do: "#{Path.basename(file || "")}:#{line}: ", else: ""
    place <> "error: " <> message
  end

  defp run do
    ExUnit.run()
    tests = :ets.tab2list(:iexbox_results) |> Enum.map(&elem(&1, 1))
    {tests, more} = Enum.split(tests, @max_tests)
    status =
      cond do
        tests == [] -> "error"
        Enum.all?(tests, &(&1.status == "pass")) -> "pass"
        true -> "fail"
      end
    base = %{status: status, tests: tests}
    base = if tests == [], do: Map.put(base, :message, "the tests found no test to run"), else: base
    if more != [], do: Map.put(base, :truncated, true), else: base
  end

  # cut keeps at most @cap bytes of valid UTF-8 (JSON needs it).
  def cut(s) when byte_size(s) > @cap, do: cut(binary_part(s, 0, @cap))
  def cut(s) do
    if String.valid?(s), do: s, else: s |> String.chunk(:valid) |> Enum.map(&if(String.valid?(&1), do: &1, else: "?")) |> Enum.join()
  end

  def capped?(s), do: byte_size(s) > @cap
end

defmodule IexboxCheck.Formatter do
  use GenServer

  def init(_), do: {:ok, 0}

  def handle_cast({:test_finished, %ExUnit.Test{} = test}, n) do
    {status, message} =
      case test.state do
        nil -> {"pass", nil}
        {:failed, failures} ->
          text = ExUnit.Formatter.format_test_failure(test, failures, 1, 80, fn
            :diff_enabled?, _ -> false
            _, msg -> msg
          end)
          {"fail", text}
        {:invalid, _} -> {"error", "the test module failed in setup_all"}
        _ -> {:skip, nil}
      end
    if status != :skip do
      output = IexboxCheck.Capture.take(:persistent_term.get(:iexbox_capture), {test.module, test.name})
      entry =
        %{name: name(test), status: status, output: IexboxCheck.cut(output), task_id: test.tags[:task_id]}
        |> then(&if message, do: Map.put(&1, :message, IexboxCheck.cut(message)), else: &1)
        |> then(&if IexboxCheck.capped?(output) or (message && IexboxCheck.capped?(message)), do: Map.put(&1, :truncated, true), else: &1)
      :ets.insert(:iexbox_results, {n, entry})
    end
    {:noreply, n + 1}
  end

  def handle_cast(_, n), do: {:noreply, n}

  defp name(test) do
    case Atom.to_string(test.name) do
      "test " <> rest -> rest
      other -> other
    end
  end
end

defmodule IexboxCheck.MemoryHandler do
  # A logger handler that ends the check when a process hit the heap limit.
  def log(%{msg: msg}, _config) do
    if String.contains?(inspect(msg, limit: 50), "maximum heap size"), do: IexboxCheck.stop("IEXBOX_MEMORY")
    :ok
  end
end

defmodule IexboxCheck.Capture do
  # A group leader that keeps what each test prints, bounded, attributed
  # to the test whose process (or caller) printed it. Code that prints
  # more than @most in all ends the check.
  @keep 4097
  @most 1_048_576

  def start do
    pid = spawn(fn -> loop(%{}, 0) end)
    :persistent_term.put(:iexbox_capture, pid)
    {:ok, pid}
  end

  def reset(pid), do: send(pid, :reset)

  def take(pid, key) do
    ref = make_ref()
    send(pid, {:take, self(), ref, key})
    receive do
      {^ref, out} -> out
    after
      1000 -> ""
    end
  end

  defp loop(bufs, total) do
    receive do
      {:io_request, from, reply_as, req} ->
        {reply, new} = request(req, from, bufs)
        total = total + size(req)
        if total > @most, do: IexboxCheck.stop("IEXBOX_OUTPUT")
        send(from, {:io_reply, reply_as, reply})
        loop(new, total)
      {:take, from, ref, key} ->
        send(from, {ref, Map.get(bufs, key, "")})
        loop(Map.delete(bufs, key), total)
      :reset ->
        loop(%{}, 0)
      _ ->
        loop(bufs, total)
    end
  end

  defp size({:put_chars, _, chars}) when is_binary(chars), do: byte_size(chars)
  defp size({:put_chars, chars}) when is_binary(chars), do: byte_size(chars)
  defp size({:put_chars, _, chars}) when is_list(chars) do
    byte_size(IO.chardata_to_string(chars))
  rescue
    _ -> 64
  end
  defp size({:requests, reqs}), do: Enum.sum(Enum.map(reqs, &size/1))
  defp size(_), do: 64

  defp request({:put_chars, enc, chars}, from, bufs), do: put(from, chars(enc, chars), bufs)
  defp request({:put_chars, chars}, from, bufs), do: put(from, chars(:latin1, chars), bufs)
  defp request({:put_chars, enc, m, f, a}, from, bufs), do: put(from, chars(enc, apply(m, f, a)), bufs)
  defp request({:put_chars, m, f, a}, from, bufs), do: put(from, chars(:latin1, apply(m, f, a)), bufs)
  defp request({:requests, reqs}, from, bufs) do
    Enum.reduce(reqs, {:ok, bufs}, fn r, {_, b} -> request(r, from, b) end)
  end
  defp request({:get_geometry, _}, _, bufs), do: {{:error, :enotsup}, bufs}
  defp request({:getopts}, _, bufs), do: {[binary: true, encoding: :unicode], bufs}
  defp request({:setopts, _}, _, bufs), do: {:ok, bufs}
  defp request(_, _, bufs), do: {{:error, :enotsup}, bufs}

  defp chars(:unicode, c), do: :unicode.characters_to_binary(c)
  defp chars(_, c), do: IO.iodata_to_binary(c)

  defp put(from, data, bufs) when is_binary(data) do
    key = owner(from)
    old = Map.get(bufs, key, "")
    if byte_size(old) >= @keep do
      {:ok, bufs}
    else
      {:ok, Map.put(bufs, key, old <> binary_part(data, 0, min(byte_size(data), @keep - byte_size(old))))}
    end
  end
  defp put(_, _, bufs), do: {{:error, :put_chars}, bufs}

  # The test a process prints for: found on its stack, or on a caller's.
  defp owner(pid, depth \\ 0)
  defp owner(_pid, 4), do: :none
  defp owner(pid, depth) do
    case Process.info(pid, [:current_stacktrace, :dictionary]) do
      [current_stacktrace: stack, dictionary: dict] ->
        Enum.find_value(stack, fn
          {m, f, _, _} -> if String.starts_with?(Atom.to_string(f), "test "), do: {m, f}
          _ -> nil
        end) ||
          Enum.find_value(Keyword.get(dict, :"$callers", []) ++ Keyword.get(dict, :"$ancestors", []), :none, fn
            p when is_pid(p) -> case owner(p, depth + 1), do: (:none -> nil; k -> k)
            _ -> nil
          end)
      _ -> :none
    end
  end
end

IexboxCheck.main()
