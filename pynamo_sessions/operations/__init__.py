"""Operations: provisioning, the sweep, the import, the IAM policy, the per-user API (list,
revoke, device names, what a login does), the AWS Lambda runtime hook.

May import the store and ``backends/``; never the web side or the test tools.
"""
