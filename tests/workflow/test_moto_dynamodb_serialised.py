"""The local stack's DynamoDB stays consistent when many threads write at once (moto alone would not)."""

from __future__ import annotations

import threading

import boto3

from local.aws import REGION, TABLE
from tests.support import acquire_stack, release_stack


def test_transactions_and_puts_from_many_threads_lose_nothing() -> None:
    acquire_stack()
    try:
        client = boto3.client("dynamodb", region_name=REGION)
        errors: list[Exception] = []

        def writer(n: int) -> None:
            try:
                for i in range(20):
                    client.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": TABLE,
                                    "Item": {"pk": {"S": f"RACE#{n}"}, "sk": {"S": f"T#{i}"}},
                                }
                            },
                            {
                                "Put": {
                                    "TableName": TABLE,
                                    "Item": {"pk": {"S": f"RACE#{n}"}, "sk": {"S": f"U#{i}"}},
                                }
                            },
                        ]
                    )
                    client.put_item(TableName=TABLE, Item={"pk": {"S": f"RACE#{n}"}, "sk": {"S": f"P#{i}"}})
            except Exception as error:  # collected: a thread's exception would otherwise vanish
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for n in range(8):
            items = client.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"RACE#{n}"}},
            )["Items"]
            assert len(items) == 60
    finally:
        release_stack()
