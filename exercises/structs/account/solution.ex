defmodule Account do
  defstruct [:owner, balance: 0]

  def new(owner), do: %Account{owner: owner}

  def deposit(%Account{} = account, amount) when amount > 0,
    do: %Account{account | balance: account.balance + amount}

  def withdraw(%Account{balance: balance} = account, amount) when amount <= balance,
    do: {:ok, %Account{account | balance: balance - amount}}

  def withdraw(%Account{}, _amount), do: {:error, :insufficient_funds}
end
