"""The platforms wing: the company's accounts, the connectors behind them, and the jobs that
poll and stream them.

registry (which platforms, one connector per account), accounts (admin services), leases,
polling, push (streams), scheduler (the hub's job list).
"""
