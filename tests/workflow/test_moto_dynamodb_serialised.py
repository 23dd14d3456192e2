"""The local stack's DynamoDB stays consistent when many threads write at once (moto alone would not)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_the_rest_of_the_table_untouched() -> None:
    # The local stack backs up only the items a transaction names (moto deep-copied the whole table per
    # action): a cancelled one must still undo its earlier actions, as DynamoDB's all-or-nothing promises.
    acquire_stack()
    try:
        client = boto3.client("dynamodb", region_name=REGION)

        def item(sk: str) -> dict[str, Any] | None:
            return client.get_item(TableName=TABLE, Key={"pk": {"S": "CANCEL"}, "sk": {"S": sk}}).get("Item")

        client.put_item(TableName=TABLE, Item={"pk": {"S": "CANCEL"}, "sk": {"S": "A"}, "n": {"N": "1"}})
        client.put_item(TableName=TABLE, Item={"pk": {"S": "CANCEL"}, "sk": {"S": "OTHER"}, "n": {"N": "7"}})
        key = {"pk": {"S": "CANCEL"}}
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {**key, "sk": {"S": "A"}},
                            "UpdateExpression": "SET n = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}},
                        }
                    },
                    {"Put": {"TableName": TABLE, "Item": {**key, "sk": {"S": "NEW"}}}},
                    {"Delete": {"TableName": TABLE, "Key": {**key, "sk": {"S": "OTHER"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": {**key, "sk": {"S": "MISSING"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert item("A") == {"pk": {"S": "CANCEL"}, "sk": {"S": "A"}, "n": {"N": "1"}}
        assert item("NEW") is None
        assert item("OTHER") == {"pk": {"S": "CANCEL"}, "sk": {"S": "OTHER"}, "n": {"N": "7"}}
        assert item("MISSING") is None
    finally:
        release_stack()
