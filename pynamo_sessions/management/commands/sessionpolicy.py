"""``manage.py sessionpolicy``: the IAM policy a job needs, or the table as a CloudFormation resource."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions import conf
from pynamo_sessions.conf import values
from pynamo_sessions.operations import policy


class Command(BaseCommand):
    help = (
        "Print the least-privilege IAM policy that a job needs on the sessions table, for the "
        "current settings, or (--table) the table as a CloudFormation/SAM resource."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", choices=list(policy.JOBS), default="request",
                            help="Which job's policy: " + "; ".join(f"{k}: {v}" for k, v in policy.JOBS.items()))
        parser.add_argument("--region", help="The table's region (default: DYNAMODB_REGION, else REGION).")
        parser.add_argument("--account", default="ACCOUNT", help="The AWS account id (default: ACCOUNT).")
        parser.add_argument("--table", action="store_true",
                            help="Print the table as an AWS::DynamoDB::Table resource instead.")
        parser.add_argument("--replicas", metavar="REGION,REGION",
                            help="With --table: a global table (AWS::DynamoDB::GlobalTable) with a replica in each.")
        parser.add_argument("--strong", action="store_true",
                            help="With --replicas: multi-Region strong consistency (MRSC; no TTL).")

    def handle(self, *args: Any, job: str, region: str | None, account: str, table: bool, replicas: str | None,
               strong: bool, **options: Any) -> None:
        problems = conf.problems()
        if problems:
            raise CommandError(" ".join(problems))
        if (replicas or strong) and not table:
            raise CommandError("--replicas and --strong describe the table: give --table too.")
        if strong and not replicas:
            raise CommandError("--strong needs --replicas (the Regions of the global table).")
        if table and replicas:
            regions = [r.strip() for r in replicas.split(",") if r.strip()]
            bad = [r for r in regions if not values.REGION_CODE.fullmatch(r)]
            if bad or len(regions) < 2:
                raise CommandError(f"--replicas must name at least two AWS Regions, such as us-east-1,eu-west-1; "
                                   f"got {replicas!r}.")
            document = policy.global_table_resource(regions, strong=strong)
            if strong:
                self.stderr.write("MRSC has no TTL: schedule `python manage.py clearsessions` (daily, say).")
        elif table:
            document = policy.table_resource()
        else:
            if account != "ACCOUNT" and not (account.isdigit() and len(account) == 12):
                raise CommandError(f"--account must be a 12-digit AWS account id; got {account!r}.")
            region = region or conf.conf.REGION or "REGION"
            document = policy.iam_policy(job, region=region, account=account)
            placeholders = [f"--{name} (the ARNs say {value})" for name, value in
                            (("account", account), ("region", region)) if value in ("ACCOUNT", "REGION")]
            unrestricted = policy.unrestricted_actions(job)
            if unrestricted:
                self.stderr.write(
                    f"Statement SessionsTableWithoutKeys ({', '.join(unrestricted)}) cannot be restricted to the key "
                    f"prefix {conf.conf.KEY_PREFIX!r}: these actions carry no key (a Scan reads every site's items; "
                    "the sweep deletes only its own). Grant it to the job that needs it only.")
            if placeholders:
                # On stderr: the policy on stdout stays valid JSON for a pipe or a file.
                self.stderr.write(f"Placeholders left in the ARNs: give {' and '.join(placeholders)} before "
                                  "using this policy.")
        self.stdout.write(json.dumps(document, indent=2))
