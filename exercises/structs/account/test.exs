defmodule AccountTest do
  use ExUnit.Case

  @tag task_id: 1
  test "a new account belongs to its owner and is empty" do
    assert %Account{owner: "Ada", balance: 0} = Account.new("Ada")
  end

  @tag task_id: 2
  test "a deposit adds to the balance" do
    assert Account.new("Ada") |> Account.deposit(50) |> Map.get(:balance) == 50
  end

  @tag task_id: 2
  test "deposits add up" do
    account = Account.new("Ada") |> Account.deposit(50) |> Account.deposit(25)
    assert account.balance == 75
  end

  @tag task_id: 3
  test "a withdrawal takes off the amount" do
    account = Account.new("Ada") |> Account.deposit(50)
    assert {:ok, %Account{balance: 20}} = Account.withdraw(account, 30)
  end

  @tag task_id: 3
  test "no withdrawal beyond the balance" do
    assert Account.withdraw(Account.new("Ada"), 1) == {:error, :insufficient_funds}
  end
end
