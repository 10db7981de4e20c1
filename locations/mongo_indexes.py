from pymongo import ASCENDING, IndexModel

from upvendo.mongo import register_indexes

register_indexes(
    "locations",
    [IndexModel([("vendor_id", ASCENDING), ("name", ASCENDING)], name="vendor_name")],
)
