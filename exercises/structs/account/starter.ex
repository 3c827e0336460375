defmodule Account do
  # A bank account: an owner and a balance that starts at 0.
  defstruct [:owner, balance: 0]

  # Account.new("Ada") is %Account{owner: "Ada", balance: 0}.
  def new(owner) do
  end

  # Add a positive amount to the balance.
  def deposit(account, amount) do
  end

  # {:ok, account} with the amount taken off, or {:error, :insufficient_funds}.
  def withdraw(account, amount) do
  end
end
