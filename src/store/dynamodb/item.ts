/**
 * The one DynamoDB item type of obcap: an item as the low-level client sends and returns it,
 * attribute name -> typed value. Numbers are text (`{ N: "58356.1" }`): no float ever appears.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

/** An item as the low-level DynamoDB client sends and returns it. */
export type Item = Record<string, AttributeValue>;
