"""Chinese names for audit-log actions and object types (the log stores stable codes)."""

ACTION_LABELS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出",
    "account_registered": "注册账户", "account_verified": "资格验证", "account_activate": "激活账户",
    "account_activated": "账户已激活", "account_recovered": "找回账户", "activation_failed": "激活失败",
    "activation_code_generated": "生成激活码", "identity_updated": "更新身份信息",
    "phone_code_sent": "发送手机校验码", "phone_verified": "验证手机", "email_code_sent": "发送邮箱校验码",
    "email_verified": "验证邮箱", "password_changed": "修改密码", "password_change_failed": "修改密码失败",
    "password_reset": "重置密码", "password_recovered": "找回密码", "password_recovery_code_sent": "发送找回密码校验码",
    "password_recovery_failed": "找回密码失败", "recovery_code_sent": "发送找回账户校验码",
    "recovery_failed": "找回账户失败", "reveal_id_number": "查看完整身份证号", "id_number_lookup": "按身份证号查询",
    "physician_lookup": "医师验证查询", "export": "导出数据",
    "change_request_submitted": "提交信息修改", "change_request_superseded": "信息修改被替换",
    "change_request_approved": "信息修改审核通过", "change_request_rejected": "信息修改审核不通过",
    "photo_uploaded": "上传相片", "photo_superseded": "相片被替换", "photo_approved": "相片审核通过",
    "photo_rejected": "相片审核不通过", "department_added": "增加科室", "department_deleted": "删除科室",
    "department_set": "设置所在科室", "physician_department_set": "设置医师所在科室",
    "institution_authority_set": "审批机关设置", "physician_account_revoked": "撤销医师账户",
    "application_submit": "提交业务申请", "application_withdraw": "撤回业务申请",
    "application_confirm": "机构办理业务", "application_retract": "机构撤销办理",
    "application_approve": "批准业务", "application_reject": "不予批准业务",
    "registration_create": "新增执业注册", "registration_change": "变更执业注册",
    "registration_status": "注册状态变化", "filing_create": "多执业机构备案", "filing_cancel": "取消备案",
    "legacy_site_cancel": "取消多地点执业", "institution_rename": "机构更名", "certificate_reissue": "证书补办",
    "institution_created": "创建医疗机构", "institution_updated": "修改医疗机构", "institution_enabled": "启用医疗机构",
    "institution_disabled": "停用医疗机构", "institution_password_reset": "重置机构密码",
    "console_account_created": "创建后台账户", "console_account_enabled": "启用后台账户",
    "console_account_disabled": "停用后台账户", "console_password_reset": "重置后台账户密码",
    "authority_created": "创建审批机关", "authority_updated": "修改审批机关",
    "import_started": "开始导入", "import_finished": "导入完成", "old_qualification_added": "补录老人资格",
    "registry_corrected": "注册库更正", "direct_business_created": "登记直接办理业务",
    "direct_business_updated": "修改直接办理业务", "question_asked": "提问", "question_answered": "答复问题",
    "question_hidden": "删除问题", "faq_created": "新增常见问题", "faq_updated": "修改常见问题",
    "faq_deleted": "删除常见问题",
}

OBJECT_LABELS = {
    "physician_account": "医师账户", "console_user": "后台账户", "person": "医师", "qualification": "医师资格",
    "registration": "执业注册", "filing": "多执业机构备案", "legacy_site": "多地点执业",
    "assessment": "定期考核", "credit_record": "信用记录", "institution": "医疗机构", "authority": "审批机关",
    "department": "科室", "application": "业务申请", "change_request": "信息修改", "photo": "相片",
    "activation_code": "激活码", "question": "问题", "faq_entry": "常见问题", "import_job": "导入任务",
    "direct_business": "直接办理业务", "certificate_reissue": "证书补办",
}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)


def object_label(code: str) -> str:
    return OBJECT_LABELS.get(code, code)
