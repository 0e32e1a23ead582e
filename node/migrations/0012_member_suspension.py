from tortoise import migrations
from tortoise.migrations import operations as ops
from node.notifications.models import NotificationType
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0011_verification')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='suspended_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match\nVERIFIED: verification.verified\nVOUCHED: verification.vouched\nDOCUMENT_REJECTED: verification.rejected\nVERIFICATION_LOST: verification.lost\nVERIFICATION_REVIEW: verification.review\nREPORT: moderation.report\nWARNING: moderation.warning\nDECISION: moderation.decision\nENDED: moderation.ended', enum_type=NotificationType, max_length=32),
        ),
    ]
